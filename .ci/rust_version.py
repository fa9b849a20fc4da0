#!/usr/bin/env python3
"""Checks that dbgate's `rust-version` is true to its lockfile: no locked dependency may need a
newer Rust than the one dbgate declares (`cargo install` fails on it otherwise). Reads
`cargo metadata` (or a JSON file given with --metadata, for the self-check) and exits 1 naming
every package whose `rust-version` exceeds ours."""
import json, subprocess, sys

def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

def main(argv):
    if len(argv) == 2 and argv[0] == "--metadata":
        metadata = json.load(open(argv[1]))
    else:
        out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"],
                             check=True, capture_output=True, text=True).stdout
        metadata = json.loads(out)
    ours = next(p for p in metadata["packages"] if p["name"] == "dbgate")["rust_version"]
    if not ours:
        print("dbgate declares no rust-version", file=sys.stderr)
        return 1
    newer = [p for p in metadata["packages"] if p.get("rust_version") and version(p["rust_version"]) > version(ours)]
    for p in newer:
        print(f"{p['name']} {p['version']} needs Rust {p['rust_version']}, but dbgate's rust-version is {ours}", file=sys.stderr)
    return 1 if newer else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
