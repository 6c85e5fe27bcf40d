#!/usr/bin/env bash
# Configure (once) and build balcap into ${BALCAP_BUILD_DIR:-build}; binary at build/bin/balcap.
#   scripts/build.sh [target...]     (default: everything, tests included)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BALCAP_BUILD_DIR:-build}
jobs=${BALCAP_JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" "${generator[@]}" -DBALCAP_CUDA="${BALCAP_CUDA:-AUTO}" ${BALCAP_CMAKE_ARGS:-}
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
