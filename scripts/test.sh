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
# Tests run side by side (-j nproc) and most start LibTorch, whose OpenMP threads spin while they
# wait: two spinning tests on 2 cores slow each other down. Passive waiting changes no result
# (the thread count and the work split stay the same). Measured on 2 cores, the demo test with the
# TrainLoop tests beside it: 175 s instead of 225 s.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
ctest --output-on-failure -j "$jobs" "$@"
