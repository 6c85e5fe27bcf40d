#!/usr/bin/env bash
# The embedded default, end to end: set-up, build, and the main job on bundled data.
#   scripts/demo.sh [RUN_DIR]        (default runs/demo)
# Today balcap has its input side (config, tokenizer, image processors) and the Qwen2.5-VL
# model; the sampler, rewards and trainer are not built yet, so the demo runs the input pipeline of a
# BalCapRL step on the bundled photos and says what comes next.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run_dir=${1:-runs/demo}
scripts/bootstrap.sh
scripts/build.sh balcap
balcap="$root/${BALCAP_BUILD_DIR:-build}/bin/balcap"
mkdir -p "$run_dir/inputs"

echo
echo "== 1. experiment config (configs/demo.yaml, validated and resolved) =="
"$balcap" config check configs/demo.yaml > "$run_dir/config.yaml"
echo "resolved config written to $run_dir/config.yaml ($(wc -l < "$run_dir/config.yaml") lines)"

# The policy family of the demo is Qwen2.5-VL: its tokenizer (Qwen BPE) and image processor
# (Qwen2-VL, from the 3B checkpoint's preprocessor_config.json; no weights needed for this part).
model_dir=tests/data/io/hub/qwen2_5_vl_3b_instruct
tok_dir="$run_dir/tokenizer"
mkdir -p "$tok_dir"
[ -f "$tok_dir/tokenizer.json" ] || gzip -dc tests/data/tokenizers/qwen/tokenizer.json.gz > "$tok_dir/tokenizer.json"

echo
echo "== 2. images -> pixel_values (Qwen2-VL processor) and CLIP (LLaVA-1.5) =="
printf '%-26s %-16s %-14s %s\n' image qwen_grid_thw image_tokens "llava pixel_values"
for img in tests/data/images/*; do
  name=$(basename "$img")
  if qwen=$("$balcap" preprocess --model "$model_dir" --image "$img" --out "$run_dir/inputs/${name%.*}.qwen.safetensors" 2> "$run_dir/inputs/${name%.*}.err"); then
    llava=$("$balcap" preprocess --model tests/data/io/hub/llava_1_5_7b_hf --image "$img" --out "$run_dir/inputs/${name%.*}.clip.safetensors")
    grid=$(echo "$qwen" | sed -E 's/.*"grid_thw":\[([0-9,]*)\].*/\1/')
    tokens=$(echo "$qwen" | sed -E 's/.*"num_image_tokens":([0-9]+).*/\1/')
    pv=$(echo "$llava" | sed -E 's/.*"pixel_values":\[([0-9,]*)\].*/\1/')
    printf '%-26s %-16s %-14s %s\n' "$name" "[$grid]" "$tokens" "[$pv]"
    echo "$tokens" > "$run_dir/inputs/${name%.*}.tokens"
  else
    printf '%-26s skipped: %s\n' "$name" "$(head -1 "$run_dir/inputs/${name%.*}.err")"
  fi
done

echo
echo "== 3. the captioning prompt for one image (Qwen2.5-VL chat template), tokenised =="
tokens=$(cat "$run_dir/inputs/chelsea.tokens")
pads=$(printf '<|image_pad|>%.0s' $(seq 1 "$tokens"))
prompt="<|im_start|>system
You are a helpful assistant.<|im_end|>
<|im_start|>user
<|vision_start|>${pads}<|vision_end|>Describe this image in detail.<|im_end|>
<|im_start|>assistant
"
"$balcap" tokenize --tokenizer "$tok_dir" --text "$prompt" > "$run_dir/prompt_ids.jsonl"
count=$(tr -cd ',' < "$run_dir/prompt_ids.jsonl" | wc -c)
echo "chelsea.png: $tokens image tokens; prompt of $((count + 1)) ids written to $run_dir/prompt_ids.jsonl"
echo "first ids: $(cut -c1-120 "$run_dir/prompt_ids.jsonl")..."

echo
echo "== not built yet =="
echo "The Qwen2.5-VL policy exists (balcap logits --model DIR on a hub checkpoint; no weights are"
echo "bundled). Not built yet: LLaVA-1.5, the group sampler, the three BalCapRL objectives with GDPO"
echo "and the length mask, and the trainer. When they land, this script runs SFT then BalCapRL on a"
echo "synthetic captioning world and prints before/after scores."
echo "demo: inputs written to $run_dir"
