#!/usr/bin/env python3
"""Two dbgate builds against each other, and against the SQL floor, in the same run on the same
server: what a change to the per-script path is worth. The repo is bench.py's (`--ddl`), made
once; the floor is measured before each round, and the two builds run alternately (A, B, A,
B, ...), so that the machine's drift falls on both. The medians and their ratio are printed.

  --checks all   every check, no git base (every migration linted, its rollback data-checked)
  --checks base  every check, with a git base: the last --new migrations are the branch's
  --checks off   the lint and the data check off (`[lint] enabled = false`, `[data] check_rollbacks = false`)

  --no-role      the setup migration makes no role (tiny, small, wide DDL)

Usage: python3 bench/ab.py --a OLD --b NEW [--ddl tiny] [--n 1000] [--rounds 4] [--checks off] [--no-role]
"""
import argparse, json, shutil, statistics, subprocess, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from changed_only import branch  # noqa: E402

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="the baseline build")
    ap.add_argument("--b", required=True, help="the build measured against it")
    ap.add_argument("--ddl", choices=["full", "small", "tiny", "wide"], default="tiny")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--checks", choices=["all", "base", "off"], default="off")
    ap.add_argument("--new", type=int, default=3, help="with --checks base: the branch's new migrations")
    ap.add_argument("--no-role", action="store_true", help="the setup migration makes no role (tiny, small, wide)")
    args = ap.parse_args()
    repo = Path(tempfile.mkdtemp(prefix="dbgate-ab-"))
    files = bench.generate(repo, args.n, bench.MAKERS.get(args.ddl, bench.migration), role=not args.no_role)
    extra = []
    if args.checks == "off":
        (repo / "dbgate.toml").write_text("[lint]\nenabled = false\n[data]\ncheck_rollbacks = false\n")
    if args.checks == "base":
        branch(repo, files, args.new)
        extra = ["--base", "main"]
    server = bench.Server(bench.find_bin())
    times = {"floor": [], "a": [], "b": []}
    first = {"a": [], "b": []}
    verdicts = {}
    try:
        for _ in range(args.rounds):
            times["floor"].append(bench.floor(server, files))
            for which in ("a", "b"):
                server.fresh("b_gate")
                # With a base, tiny's new CREATE INDEX on an existing table fails the lint: a
                # verdict too, which both builds must give.
                elapsed, report, _ = bench.run_dbgate_measured(
                    getattr(args, which), repo, ["--provider", "url", "--database-url", server.url(), *extra], accept=(0, 1))
                verdicts.setdefault(which, report["verdict"])
                assert report["verdict"] == verdicts["a" if "a" in verdicts else which], verdicts
                times[which].append(elapsed)
                first[which].append(report.get("first_statement_ms"))
                print(f"{which}: {elapsed:.2f} s", file=sys.stderr, flush=True)
    finally:
        server.stop()
        shutil.rmtree(repo, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({"ddl": args.ddl, "n": args.n, "checks": args.checks, "times": times,
                      "first_statement_ms": first, "medians": med}, indent=2))
    print(f"floor {med['floor']:.2f} s | A {med['a']:.2f} s ({med['a'] / med['floor']:.2f}x) | "
          f"B {med['b']:.2f} s ({med['b'] / med['floor']:.2f}x) | B/A {med['b'] / med['a']:.3f}")

if __name__ == "__main__":
    main()
