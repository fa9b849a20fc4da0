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
    ("discovery", ["discovery"]),
    ("provision", ["provider", "preset", "execute"]),
    ("catalog", ["catalog"]),
    ("checks", ["checks"]),
    ("report", ["report"]),
    ("renderers", ["report::console", "report::json", "report::junit", "report::markdown", "report::github"]),
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
        # Paths written `crate::a::b`, and `crate::{a, b::c}` groups.
        targets = re.findall(r"\bcrate::([a-z_]+(?:::[a-z_]+)*)", text)
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            targets += [t.strip().split(" ")[0] for t in group.split(",") if t.strip()]
        # `super::` steps up from the module itself (a file `a/b.rs` and `a/b/mod.rs` are both a::b).
        for supers, rel in re.findall(r"\b((?:super::)+)([a-z_]+(?:::[a-z_]+)*)", text):
            parts = [] if module == "lib" else module.split("::")
            up = supers.count("super::")
            targets.append("::".join(parts[: max(len(parts) - up, 0)] + [rel]))
        for target in sorted(set(targets)):
            target = target.split("::{")[0]
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
