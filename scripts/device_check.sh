#!/usr/bin/env bash
# One call on the GPU machine: configure the CUDA build against its torch and system
# libraries, build, run the test suite. Usage there (from the repo root):
#   scripts/device_check.sh            (carry .device_deps made by scripts/device_deps.sh)
# Writes logs to $OUT when set.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/build-device/out}
mkdir -p "$out"
python=${BALCAP_PYTHON:-/opt/torch/.venv/bin/python}
prefix=""
if [ -d .device_deps/usr ]; then
  prefix="$root/.device_deps/usr"
  export LD_LIBRARY_PATH="$prefix/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export PKG_CONFIG_PATH="$prefix/lib/x86_64-linux-gnu/pkgconfig:${PKG_CONFIG_PATH:-}"
fi
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
t0=$(date +%s)
cmake -S . -B build-device -G Ninja -DBALCAP_CUDA=ON -DBALCAP_PYTHON="$python" \
  ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} -DCMAKE_INCLUDE_PATH="${prefix:+$prefix/include}" \
  > "$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
cmake --build build-device -j "$(nproc)" > "$out/build.log" 2>&1 || { grep -m5 -A5 error "$out/build.log"; exit 1; }
echo "device_check: build took $(( $(date +%s) - t0 )) s"
(cd build-device && ctest --output-on-failure -j 8 > "$out/ctest.log" 2>&1)
rc=$?
tail -15 "$out/ctest.log"
exit $rc
