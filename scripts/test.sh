#!/usr/bin/env bash
# The test command: bootstrap (idempotent) + configure + build + ctest.
#   scripts/test.sh [ctest args...]     e.g. scripts/test.sh -R text.
# Environment: BALCAP_BUILD_DIR (default build), BALCAP_CUDA (AUTO|ON|OFF), BALCAP_JOBS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/bootstrap.sh
scripts/build.sh
build=${BALCAP_BUILD_DIR:-build}
jobs=${BALCAP_JOBS:-$(nproc)}
cd "$build"
ctest --output-on-failure -j "$jobs" "$@"
