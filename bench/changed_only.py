#!/usr/bin/env python3
"""--changed-only against the full check, in the same run on the same server: a git repository of
N migrations (bench.py's, `--ddl small` by default) whose main branch has all but the last K, and
a branch that adds those K. Both are timed through the url provider (the repository's own
history decides what changed); the rollbacks proved are counted from the JSON reports.

Usage: python3 bench/changed_only.py [--n 1000] [--new 3] [--ddl small|tiny|wide|full] [--dbgate PATH]
"""
import argparse, json, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

def git(repo, *args):
    subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "-c", "init.defaultBranch=main", *args],
                   cwd=repo, check=True, stdout=subprocess.DEVNULL)

def branch(repo, files, new):
    """Makes `repo` a git repository whose main branch has all but the last `new` migrations of
    `files`, and checks out a branch (feature) that adds them."""
    newest = files[-new:]
    held = [(up.read_text(), down.read_text()) for up, down in newest]
    for up, down in newest:
        up.unlink(); down.unlink()
    git(repo, "init", "-q"); git(repo, "add", "-A"); git(repo, "commit", "-q", "-m", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    for (up, down), (up_text, down_text) in zip(newest, held):
        up.write_text(up_text); down.write_text(down_text)
    git(repo, "add", "-A"); git(repo, "commit", "-q", "-m", "feature")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--new", type=int, default=3)
    ap.add_argument("--ddl", choices=["full", "small", "tiny", "wide"], default="small")
    ap.add_argument("--dbgate", default=str(Path(__file__).resolve().parent.parent / "target/release/dbgate"))
    args = ap.parse_args()
    repo = Path(tempfile.mkdtemp(prefix="dbgate-changed-only-"))
    files = bench.generate(repo, args.n, bench.MAKERS.get(args.ddl, bench.migration))
    branch(repo, files, args.new)
    server = bench.Server(bench.find_bin())
    try:
        url = f"host={server.dir} user=bench dbname=postgres"
        results = {}
        for name, extra in [("full", []), ("changed-only", ["--changed-only"])]:
            times, first = [], []
            for _ in range(2):
                # A gate failed by the lint (tiny's new CREATE INDEX on an existing table) is
                # a verdict too: its time counts.
                elapsed, report, _ = bench.run_dbgate_measured(args.dbgate, repo, ["--provider", "url", "--database-url", url, "--base", "main", *extra], accept=(0, 1))
                times.append(elapsed)
                first.append(report.get("first_statement_ms"))
            proved = sum(1 for m in report["migrations"] for c in m["checks"] if c["kind"] == "rollback" and c["status"] == "passed")
            results[name] = {"seconds": min(times), "first_statement_ms": min(first), "rollbacks_proved": proved, "verdict": report["verdict"]}
        print(json.dumps({"n": args.n + 1, "new": args.new, "ddl": args.ddl, **results}, indent=2))
        print(f"changed-only / full: {results['changed-only']['seconds'] / results['full']['seconds']:.2f}", file=sys.stderr)
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(repo)])

if __name__ == "__main__":
    main()
