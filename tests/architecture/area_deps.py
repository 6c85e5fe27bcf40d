#!/usr/bin/env python3
"""Each area may include only the headers of the areas it declares, and no other area includes a
header whose first comment says "Private to src/<area>".

Reads the `balcap_area(NAME DEPS a b ...)` declarations from CMakeLists.txt and every
`#include "AREA/..."` in src/NAME/, and fails naming the file, line and area when a file
includes a header of an area that NAME does not declare (src/cli may include any area the
`balcap` executable links). Each file of src/NAME opens only `namespace balcap::NAME` (or a namespace
nested in it, or an anonymous one); core's vocabulary is the root `namespace balcap`. Run by ctest as
architecture.area_deps.
"""
import pathlib
import re
import subprocess
import sys
import tempfile


def self_test():
    """The check must fail on a tree where core includes a models header (core declares nothing)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = pathlib.Path(tmp)
        (tree / "CMakeLists.txt").write_text(
            "balcap_area(core DEPS)\nbalcap_area(models DEPS core)\n"
            "target_link_libraries(balcap PRIVATE balcap_models balcap_core)\n")
        for area in ("core", "models", "cli"):
            (tree / "src" / area).mkdir(parents=True)
        (tree / "src" / "models" / "policy.h").write_text('#include "core/error.h"\n')
        (tree / "src" / "core" / "error.h").write_text("#pragma once\n")
        ok = subprocess.run([sys.executable, __file__, str(tree)], capture_output=True, text=True)
        (tree / "src" / "core" / "error.h").write_text('#pragma once\n#include "models/policy.h"\n')
        bad = subprocess.run([sys.executable, __file__, str(tree)], capture_output=True, text=True)
        (tree / "src" / "core" / "error.h").write_text("#pragma once\n")
        (tree / "src" / "core" / "detail.h").write_text("#pragma once\n// Private to src/core: internals.\n")
        (tree / "src" / "models" / "policy.h").write_text('#include "core/detail.h"\n')
        private_bad = subprocess.run([sys.executable, __file__, str(tree)], capture_output=True, text=True)
        (tree / "src" / "models" / "policy.h").write_text('#include "core/error.h"\nnamespace balcap {\n}\n')
        namespace_bad = subprocess.run([sys.executable, __file__, str(tree)], capture_output=True, text=True)
    print(ok.stdout + bad.stdout + private_bad.stdout + namespace_bad.stdout)
    if namespace_bad.returncode == 0 or "src/models/policy.h:2" not in namespace_bad.stdout:
        sys.exit("area_deps self-test: the check let models declare names in another area's namespace")
    if private_bad.returncode == 0 or "private to src/core" not in private_bad.stdout:
        sys.exit("area_deps self-test: the check let another area include a private header")
    if ok.returncode != 0 or bad.returncode == 0 or "src/core/error.h:2" not in bad.stdout:
        sys.exit("area_deps self-test: the check did not tell the declared include from the undeclared one")
    print("area_deps self-test: a declared include passes; an undeclared one, or one of another area's private "
          "header, or a namespace other than the area's, fails naming file and line")
    sys.exit(0)


if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
    self_test()
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
cmake = (root / "CMakeLists.txt").read_text()
declared = {m.group(1): set(m.group(2).split())
            for m in re.finditer(r"^balcap_area\((\w+)\s+DEPS([^)]*)\)", cmake, re.M)}
links = re.search(r"target_link_libraries\(balcap PRIVATE([^)]*)\)", cmake, re.S).group(1)
declared["cli"] = {name[len("balcap_"):] for name in links.split() if name.startswith("balcap_")}

areas = {p.name for p in (root / "src").iterdir() if p.is_dir()}
undeclared_areas = areas - declared.keys()
errors = [f"src/{a}/ is not declared with balcap_area() in CMakeLists.txt" for a in sorted(undeclared_areas)]
include = re.compile(r'^\s*#\s*include\s*[<"](([a-z0-9_]+)/[^">]+)[">]')
private = {f"{p.parent.name}/{p.name}" for p in (root / "src").glob("*/*.h")
           if re.search(r"^// Private to src/", p.read_text(errors="replace"), re.M)}
namespace = re.compile(r"^\s*namespace\s+([\w:]+)\s*\{")


def namespace_error(area, where, line):
    """The file's namespace must be balcap::AREA (or nested in it); core's is balcap."""
    m = namespace.match(line)
    if not m or not m.group(1).startswith("balcap"):
        return None
    own = "balcap" if area == "core" else f"balcap::{area}"
    if m.group(1) == own or m.group(1).startswith(own + "::"):
        return None
    return (f"{where}: src/{area} opens namespace {m.group(1)}. HINT: every name of src/{area} lives in {own} "
            f"(docs/architecture.md section 2); refer to another area's names as <area>::Name")


for area in sorted(areas & declared.keys()):
    for path in sorted((root / "src" / area).rglob("*")):
        if path.suffix not in (".h", ".cpp", ".in"):
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            ns_error = namespace_error(area, f"{path.relative_to(root)}:{lineno}", line)
            if ns_error:
                errors.append(ns_error)
            m = include.match(line)
            if not m or m.group(2) not in areas or m.group(2) == area:
                continue
            where = f"{path.relative_to(root)}:{lineno}"
            if m.group(2) not in declared[area]:
                errors.append(f"{where}: area '{area}' includes a header of '{m.group(2)}', which it does not "
                              f"declare. HINT: add {m.group(2)} to balcap_area({area} DEPS ...) in CMakeLists.txt "
                              f"if the dependency is meant, or move the code to the area that owns it")
            elif m.group(1) in private:
                errors.append(f"{where}: area '{area}' includes {m.group(1)}, which is private to "
                              f"src/{m.group(2)}. HINT: use that area's public headers, or make this one public "
                              f"(drop 'Private to' from its first comment) if others are meant to use it")
for e in errors:
    print(e)
print(f"area_deps: {len(areas)} areas checked, {len(errors)} problem(s)")
sys.exit(1 if errors else 0)
