#!/usr/bin/env python3
"""dbgate on the example schema with production-sized tables: `dbgate check --rows N` for each N,
against the same gate with the default 20 rows per table in the same run (the baseline).

For each size: the wall time of the whole gate, the time the generator took to put the rows in
(the sum of migrations[].volume.fill_ms: each migration's tables are filled in its own
transaction, rolled back), the migrations' own time on the rows (the sum of
migrations[].volume.duration_ms), and dbgate's own peak RSS (as bench.py measures it: the rows
are made and compared in the server, so it should not grow with N).

Usage: python3 bench/volume.py [--sizes 10000,100000,1000000] [--dbgate PATH] [--out FILE]
Needs the PostgreSQL server binaries (and pgTAP for the example's tests); as root, the server
runs as the postgres user. The url provider is used, so that the server's memory is not counted
as dbgate's.
"""
import argparse, json, shutil, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Server, find_bin, run_dbgate_measured  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

def example(work):
    """The example: its migrations, tests and dbgate.toml (without the image: url provider)."""
    for folder in ["migrations", "smoke", "tests/data"]:
        shutil.copytree(ROOT / folder, work / folder)
    config = (ROOT / "dbgate.toml").read_text()
    (work / "dbgate.toml").write_text("\n".join(l for l in config.splitlines() if not l.startswith("image")) + "\n")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--dbgate", default=str(ROOT / "target/release/dbgate"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    server = Server(find_bin())
    work = Path(tempfile.mkdtemp(prefix="dbgate-volume-"))
    rows = []
    try:
        example(work)
        for n in [None] + [int(s) for s in args.sizes.split(",")]:
            server.fresh("b_gate")
            extra = [] if n is None else ["--rows", str(n)]
            wall, report, rss = run_dbgate_measured(args.dbgate, work, ["--provider", "url", "--database-url", server.url(), "--base", "none"] + extra)
            if report["verdict"] != "passed":
                sys.exit(f"the gate failed at --rows {n}: {json.dumps(report['summary'])}")
            volumes = [m["volume"] for m in report["migrations"] if m.get("volume")]
            row = dict(rows=n, wall=wall, fill=sum(v["fill_ms"] for v in volumes) / 1000,
                       migrations=sum(v["duration_ms"] for v in volumes) / 1000, peak_rss_mb=rss,
                       moved=max((m["rows_per_second"] for v in volumes for m in v.get("moved", [])), default=None))
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))
    print()
    print("| rows per table | whole gate | putting the rows in | the migrations on them | fastest rows/s | dbgate peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        label = "20 (default, no volume check)" if r["rows"] is None else f"{r['rows']:,}"
        fill = "-" if r["rows"] is None else f"{r['fill']:.2f} s"
        mig = "-" if r["rows"] is None else f"{r['migrations']:.2f} s"
        moved = "-" if r["moved"] is None else f"{r['moved']:,}"
        print(f"| {label} | {r['wall']:.2f} s | {fill} | {mig} | {moved} | {r['peak_rss_mb']:.1f} MB |")

if __name__ == "__main__":
    main()
