#!/usr/bin/env bash
# One call on the GPU machine: configure the CUDA build against its torch and system
# libraries, build, run the test suite, then the GPU measurements of issues 4 and 6:
#   1. scripts/bench_rollout at the Qwen2.5-VL-3B shape (8 and 32 images x G=8 x 256 new tokens,
#      448 px, bf16, CUDA-graph decoding; eager too at 8 images) beside
#      scripts/peer/hf_rollout_baseline.py (the peer baseline, transformers), and one profiled
#      rollout (kineto: the heaviest kernels, a chrome trace in $OUT);
#   2. scripts/bench_update at the same shape (balcap's update vs transformers + torch AdamW:
#      speed and peak memory), micro-batch 8;
#   3. two BalCapRL steps of a random-weight Qwen2.5-VL-3B (balcap model init from the hub config)
#      in bf16 on the GPU, 8 images x G=8, 256 new tokens, scene objectives (cheap judges), with
#      step time by phase and perf/mfu from metrics.jsonl and the peak GPU memory (nvidia-smi polled).
#      TRL is not installed there (no network), so scripts/bench_step's TRL side runs on CPU only.
# Usage there (from the repo root):
#   scripts/device_check.sh [tests|bench|all]   (default all; carry .device_deps from scripts/device_deps.sh)
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
what=${1:-all}
rc=0
if [ "$what" != bench ]; then
  (cd build-device && ctest --output-on-failure -j 8 > "$out/ctest.log" 2>&1)
  rc=$?
  tail -15 "$out/ctest.log"
fi
[ "$what" = tests ] && exit $rc

balcap="$root/build-device/bin/balcap"
export BALCAP_BUILD_DIR=build-device BALCAP_PYTHON="$python"
echo "== rollout: balcap vs transformers, Qwen2.5-VL-3B shape, bf16 =="
for images in 8 32; do
  scripts/bench_rollout --shape 3b --images "$images" --group 8 --max-new-tokens 256 --image-size 448 \
    --device cuda --dtype bf16 --repeat 1 --cuda-graphs on --skip-hf 2>&1 | tee -a "$out/bench_rollout.log"
  # The eager decode beside it, once (what the graphs buy).
  [ "$images" = 8 ] && scripts/bench_rollout --shape 3b --images 8 --group 8 --max-new-tokens 256 --image-size 448 \
    --device cuda --dtype bf16 --repeat 1 --cuda-graphs off --skip-hf 2>&1 | tee -a "$out/bench_rollout.log"
  "$python" scripts/peer/hf_rollout_baseline.py --size 3b --images "$images" --group 8 --new-tokens 256 \
    --image-size 448 --skip-train 2>&1 | tail -3 | tee -a "$out/bench_rollout.log"
done
echo "== where a rollout's GPU time goes (kineto, 8 images x G=8 x 64 tokens, graphs on) =="
scripts/bench_rollout --shape 3b --images 8 --group 8 --max-new-tokens 64 --image-size 448 --device cuda \
  --dtype bf16 --repeat 1 --cuda-graphs on --skip-hf --profile "$out/rollout_3b_trace.json" 2>&1 |
  grep -E "impl=|profile:" | tee "$out/bench_profile.log"
[ -f "$out/rollout_3b_trace.json" ] && gzip -f "$out/rollout_3b_trace.json"

echo "== the update: balcap vs transformers + torch AdamW, Qwen2.5-VL-3B shape, bf16, 8 images x G=8 x 256 tokens =="
scripts/bench_update --shape 3b --images 8 --group 8 --new-tokens 256 --image-size 448 --micro-batch 8 \
  --device cuda --dtype bf16 --repeat 2 2>&1 | tail -6 | tee "$out/bench_update.log" || rc=1

echo "== two BalCapRL steps, random Qwen2.5-VL-3B, bf16, 8 images x G=8 x 256 tokens =="
work=build-device/rl_3b
rm -rf "$work" && mkdir -p "$work"
"$balcap" model init --template tests/data/io/hub/qwen2_5_vl_3b_instruct --tokenizer tests/data/tokenizers/qwen \
  --out "$work/model" --seed 0 > "$out/model_init.log" 2>&1 || { tail -5 "$out/model_init.log"; exit 1; }
"$balcap" data synth --out "$work/data" --n 16 --seed 0 --size 448 > "$out/synth.log" 2>&1 || { tail -5 "$out/synth.log"; exit 1; }
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$out/gpu_memory.log" &
smi=$!
"$balcap" train --config configs/demo.yaml --run-dir "$work/run" --max-steps 2 --save-every 0 \
  --set model.path="$work/model" --set data.train="$work/data/train.jsonl" --set data.eval= \
  --set train.device=cuda --set train.dtype=bfloat16 --set train.batch_size=8 --set train.group_size=8 \
  --set train.micro_batch=8 --set train.grad_checkpointing=true --set train.freeze_vision=true \
  --set sampling.max_new_tokens=256 --set sampling.min_new_tokens=256 --set sampling.temperature=1.0 \
  --set optim.lr=1e-6 --set logging.tensorboard=false > "$out/train_3b.log" 2>&1
train_rc=$?
kill $smi 2>/dev/null
tail -5 "$out/train_3b.log"
[ -f "$work/run/metrics.jsonl" ] && cp "$work/run/metrics.jsonl" "$out/metrics_3b.jsonl" && \
  "$python" -c 'import json,sys
for line in open(sys.argv[1]):
    m = json.loads(line); print(json.dumps({k: v for k, v in m.items() if k == "step" or k.startswith(("time/", "perf/", "memory/"))}))' \
  "$work/run/metrics.jsonl"
echo "peak GPU memory used (MiB): $(sort -n "$out/gpu_memory.log" | tail -1)"
echo "== the same step as one NCCL rank (scripts/launch --nproc 1: c10d TCPStore + ProcessGroupNCCL) =="
scripts/launch --nproc 1 "$balcap" train --config configs/demo.yaml --run-dir "$work/run_nccl" --max-steps 1 \
  --save-every 0 --set model.path="$work/model" --set data.train="$work/data/train.jsonl" --set data.eval= \
  --set train.device=cuda --set train.dtype=bfloat16 --set train.batch_size=8 --set train.group_size=8 \
  --set train.micro_batch=8 --set train.grad_checkpointing=true --set train.freeze_vision=true \
  --set sampling.max_new_tokens=256 --set dist.backend=nccl --set logging.tensorboard=false \
  > "$out/train_3b_nccl.log" 2>&1 || { rc=1; tail -5 "$out/train_3b_nccl.log"; }
grep -m2 "process group\|training finished" "$out/train_3b_nccl.log"
"$python" scripts/peer/hf_rollout_baseline.py --size 3b --images 8 --group 8 --new-tokens 256 --image-size 448 \
  2>&1 | tail -4 | tee -a "$out/hf_step_3b.log"
[ $rc -eq 0 ] && rc=$train_rc
exit $rc
