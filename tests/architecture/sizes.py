#!/usr/bin/env python3
"""Short files and short functions: no source file in src/ over 400 lines, no function over 60
lines except the model forwards (src/models/**::forward, whose length follows the transformers
code they mirror). Function extents come from lizard (PyPI), the maintained C++ function
scanner. Run by ctest as architecture.sizes; prints every offender with its file and line.
"""
import pathlib
import sys

import lizard

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def exempt(path: pathlib.Path, function_name: str) -> bool:
    return path.parts[-2] == "models" and function_name.split("::")[-1] == "forward"


root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
errors = []
files = sorted(p for p in (root / "src").rglob("*") if p.suffix in (".h", ".cpp"))
for path in files:
    rel = path.relative_to(root)
    lines = path.read_text(errors="replace").count("\n")
    if lines > MAX_FILE_LINES:
        errors.append(f"{rel}: {lines} lines (at most {MAX_FILE_LINES}). HINT: split it by concept")
    for fn in lizard.analyze_file(str(path)).function_list:
        if fn.length > MAX_FUNCTION_LINES and not exempt(rel, fn.name):
            errors.append(f"{rel}:{fn.start_line}: {fn.name} is {fn.length} lines (at most "
                          f"{MAX_FUNCTION_LINES}). HINT: cut it into named steps")
for e in errors:
    print(e)
print(f"sizes: {len(files)} files checked, {len(errors)} too long")
sys.exit(1 if errors else 0)
