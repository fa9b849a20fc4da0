#!/usr/bin/env python3
"""Time to first statement per provider: `first_statement_ms` of dbgate's JSON report (from the
run's start to the first migration statement), median of --runs runs, on a three-migration repo.

  local          the local provider (its cached initialised cluster)
  docker         the docker provider with the image present and its initialised cluster kept
  docker, first  the same after removing that cache (the run that makes it again)
  docker, none   the baseline: the same image with a command of its own (as supabase/postgres
                 has one), which is started as before the cache (entrypoint initdb every run)

Usage: python3 bench/first_statement.py [--image dbgate/postgres:15] [--runs 3] [--dbgate PATH]
Needs a Docker engine with the image, and the PostgreSQL server binaries.
"""
import argparse, json, shutil, statistics, subprocess, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def first_statement_ms(dbgate, repo, args):
    report = repo / "report.json"
    subprocess.run([dbgate, "check", "--json", str(report)] + args, cwd=repo, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(report.read_text())["first_statement_ms"]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="dbgate/postgres:15")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dbgate", default=str(ROOT / "target/release/dbgate"))
    args = ap.parse_args()
    repo = Path(tempfile.mkdtemp(prefix="dbgate-first-statement-"))
    shutil.copytree(ROOT / "tests/fixtures/layout-golang-migrate/migrations", repo / "migrations")
    image_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", args.image],
                              check=True, capture_output=True, text=True).stdout.strip()
    cache = f"dbgate/initialised:{image_id.removeprefix('sha256:')[:12]}"
    docker = ["--provider", "docker", "--image", args.image]
    rows = {}
    rows["local"] = [first_statement_ms(args.dbgate, repo, ["--provider", "local"]) for _ in range(args.runs)]
    first_statement_ms(args.dbgate, repo, docker)  # makes the cache when it is missing
    rows["docker"] = [first_statement_ms(args.dbgate, repo, docker) for _ in range(args.runs)]
    firsts = []
    for _ in range(args.runs):
        subprocess.run(["docker", "rmi", "-f", cache], capture_output=True)
        firsts.append(first_statement_ms(args.dbgate, repo, docker))
    rows["docker, first run (makes the cache)"] = firsts
    uncached = "dbgate-bench/own-command:1"
    subprocess.run(["docker", "build", "-q", "-t", uncached, "-"], check=True, capture_output=True,
                   input=f'FROM {args.image}\nCMD ["postgres", "-c", "max_connections=100"]\n'.encode())
    rows["docker, no cache (baseline: the image with a command of its own)"] = [
        first_statement_ms(args.dbgate, repo, ["--provider", "docker", "--image", uncached]) for _ in range(args.runs)]
    shutil.rmtree(repo, ignore_errors=True)
    print("| provider | runs (ms) | median |")
    print("|---|---|---:|")
    for name, values in rows.items():
        print(f"| {name} | {', '.join(str(v) for v in values)} | {statistics.median(values):.0f} ms |")

if __name__ == "__main__":
    main()
