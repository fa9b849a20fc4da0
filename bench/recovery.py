#!/usr/bin/env python3
"""What recovery costs: one bad rollback at migration N/2 of N, and the two ways to get back to
"after migration i" in the same run, on the same server.

  replay    what dbgate does: a fresh database, the first i migrations replayed (dbgate's own
            rebuild, timed by dbgate and read from the report's notes)
  template  the alternative: a database kept after migration i, copied with CREATE DATABASE ...
            TEMPLATE (both strategies of PostgreSQL 15+: WAL_LOG, the default, and FILE_COPY);
            a copy can only be made of a database nobody is connected to, so keeping one means
            leaving the checks' session and making the copy at every state a failure may need

And dbgate's whole run on the repo with the bad rollback against the same repo without it.

Usage: python3 bench/recovery.py [--n 1000] [--ddl full|small] [--dbgate PATH]
"""
import argparse, json, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def timed_sql(server, db, sql):
    t = time.monotonic()
    subprocess.run(server.psql(db) + ["-c", sql], check=True, capture_output=True)
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--ddl", choices=["full", "small"], default="full")
    ap.add_argument("--dbgate", default=str(Path(__file__).resolve().parent.parent / "target/release/dbgate"))
    args = ap.parse_args()
    n, bad = args.n, args.n // 2
    make = bench.small_migration if args.ddl == "small" else bench.migration
    server = bench.Server(bench.find_bin())
    good = broken = None
    try:
        good = Path(tempfile.mkdtemp(prefix="dbgate-recovery-good-"))
        files = bench.generate(good, n, make)
        broken = Path(tempfile.mkdtemp(prefix="dbgate-recovery-bad-"))
        bench.generate(broken, n, make)
        # The bad rollback leaves the trigger function behind: its rollback check fails, and the
        # up cannot run again ("already exists"), in the forward and the reverse chain.
        down = broken / "migrations" / f"{bad:04d}_m_rollback.sql"
        text = down.read_text()
        down.write_text("\n".join(l for l in text.splitlines() if not l.startswith("DROP FUNCTION")) + "\n")

        server.fresh("b_gate")
        g_good, report_good, _ = run(args.dbgate, good, server)
        g_bad, report_bad, _ = run(args.dbgate, broken, server)
        rebuilds = [(int(m.group(1)), int(m.group(2))) for note in report_bad["notes"]
                    for m in [re.search(r"\((\d+) migrations? replayed, unchecked, in (\d+) ms\)", note)] if m]
        failed = [m["file"] for m in report_bad["migrations"] if any(c["status"] == "failed" for c in m["checks"])]

        # The template way: the database after migration `bad`, built untimed, then copied.
        server.fresh("b_kept")
        for up, _ in files[: bad + 1]:
            subprocess.run(server.psql("b_kept") + ["-1", "-f", str(up)], check=True, capture_output=True)
        copies = {}
        for strategy in ["WAL_LOG", "FILE_COPY"]:
            samples = []
            for k in range(3):
                samples.append(timed_sql(server, "postgres", f"CREATE DATABASE b_copy_{k} TEMPLATE b_kept STRATEGY {strategy}"))
                timed_sql(server, "postgres", f"DROP DATABASE b_copy_{k}")
            copies[strategy] = sorted(samples)[1]
        row = dict(n=n, bad=bad, dbgate_good=g_good, dbgate_bad=g_bad, rebuilds=rebuilds, failed=failed,
                   template_wal_log=copies["WAL_LOG"], template_file_copy=copies["FILE_COPY"],
                   migrations_per_s=report_good["summary"]["migrations"] / g_good)
        print(json.dumps(row, indent=2))
    finally:
        server.stop()
        for repo in (good, broken):
            if repo:
                shutil.rmtree(repo, ignore_errors=True)


def run(dbgate, repo, server):
    report = repo / "report.json"
    t = time.monotonic()
    proc = subprocess.run([dbgate, "check", "--json", str(report), "--color", "never", "--provider", "url",
                           "--database-url", server.url()], cwd=repo, capture_output=True)
    elapsed = time.monotonic() - t
    if proc.returncode not in (0, 1):
        sys.exit(f"dbgate failed ({proc.returncode}): {proc.stderr.decode()[-3000:]}")
    return elapsed, json.loads(report.read_text()), proc.returncode


if __name__ == "__main__":
    main()
