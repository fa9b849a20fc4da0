#!/usr/bin/env python3
"""Checks that dbgate's modules import one way: discover -> provision -> checks -> report ->
renderers, with the shared vocabulary at the bottom and the commands at the edge.

Every `crate::a::b` path in a file (in `use` lines or inline) is an arrow from the file's module
to the module it names; `super::` is resolved from the file's place. A module may name its own
layer or a lower one, never a higher one. Exits 1 naming each arrow that runs back up."""
import re, sys
from pathlib import Path

# Lowest first. A module is matched by its longest listed prefix.
LAYERS = [
    ("vocabulary", ["script", "failure", "object"]),
    ("discovery", ["discovery", "history"]),
    ("provision", ["provider", "preset", "execute"]),
    ("catalog", ["catalog"]),
    # What dbgate writes from a catalog snapshot for a repo to commit.
    ("generate", ["generate"]),
    ("checks", ["checks"]),
    ("report", ["report"]),
    ("renderers", ["report::console", "report::json", "report::junit", "report::markdown", "report::github", "report::list", "report::sarif"]),
    # The command line and dbgate.toml are read once, at the edge, into settings (`config`);
    # the layers below are handed plain values.
    ("edge", ["github", "app", "cli", "config", "error", "lib", "main"]),
]

def layer_of(module):
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "::"):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]

def module_of(path, src):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return "::".join(parts) or "lib"

def resolve(base, path):
    """`base::path` with any `super` segment in the path stepping up."""
    out = list(base)
    for part in path:
        if part == "super":
            out = out[:-1]
        else:
            out.append(part)
    return "::".join(out)

def paths_after(text, start):
    """Every path a use-tree starting at text[start] names: `a::b`, `a::{b, c::{d, self}}`."""
    out = []
    def tree(i, prefix):
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)(::)?", text[i:])
        if text[i:].lstrip().startswith("{"):
            return group(i + text[i:].index("{") + 1, prefix)
        if not m:
            return i
        path = prefix + [p for p in m.group(1).split("::") if p != "self"]
        i += m.end()
        if m.group(2) and text[i:].lstrip().startswith("{"):
            return group(i + text[i:].index("{") + 1, path)
        out.append(path)
        return i
    def group(i, prefix):
        while True:
            i = tree(i, prefix)
            rest = text[i:].lstrip()
            i = len(text) - len(rest)
            if rest.startswith(","):
                i += 1
                if text[i:].lstrip().startswith("}"):
                    return i + text[i:].index("}") + 1
                continue
            if rest.startswith("}"):
                return i + 1
            return i
    tree(start, [])
    return out

def main():
    src = Path(__file__).resolve().parent.parent / "src"
    problems = []
    for path in sorted(src.rglob("*.rs")):
        module = module_of(path, src)
        own = layer_of(module)
        if own is None:
            problems.append(f"{path}: module {module} is in no layer of .ci/layers.py")
            continue
        text = path.read_text()
        # An inline `mod tests { ... }` is a module below the file's: its `super::` is the file's.
        tests = (0, 0)
        at = text.find("mod tests {")
        if at >= 0:
            depth, end = 0, at
            for end in range(text.index("{", at), len(text)):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                if depth == 0:
                    break
            tests = (at, end)
        parts = [] if module == "lib" else module.split("::")
        targets = []
        for m in re.finditer(r"\bcrate::", text):
            targets += [resolve([], p) for p in paths_after(text, m.end())]
        for m in re.finditer(r"\b((?:super::)+)", text):
            if m.start() > 0 and text[m.start() - 2 : m.start()] == "::":
                continue  # part of a longer path, resolved with it
            inside_tests = tests[0] < m.start() < tests[1]
            up = m.group(1).count("super::") - (1 if inside_tests else 0)
            base = parts[: max(len(parts) - up, 0)]
            targets += [resolve(base, p) for p in paths_after(text, m.end())]
        for target in sorted(set(targets)):
            # What the crate root re-exports (Error, exit, run) is the edge's.
            if not target or target[0].isupper() or layer_of(target) is None:
                target = "lib::" + target
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                problems.append(f"{path.relative_to(src.parent)}: {module} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})")
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} imports run back up the layers", file=sys.stderr)
        return 1
    return 0

sys.exit(main())
