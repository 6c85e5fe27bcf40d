"""A tiny random-weight Qwen2.5-VL (or LLaVA-1.5) policy in HF layout for the train tests and the demo.

    python tests/reference/make_tiny_policy.py OUT_DIR [--seed S] [--family llava]

LLaVA: shape A of tests/reference/ref_models_llava.py (CLIP at 56 px: 16 image tokens; LLaMA hidden 64,
2 layers; LLaMA-2's tokenizer with <image>/<pad>), untied, eos </s>.

The architecture of tests/reference/ref_models.py (text hidden 64, 2 layers; vision depth 4, hidden
64; the real Qwen tokenizer from tests/data, vocab 151936; min/max pixels 3136/25088 so an image
is at most 32 tokens), tied embeddings, written with transformers' save_pretrained plus the
tokenizer/processor files and a generation_config.json whose eos ids are <|im_end|> and
<|endoftext|>. Deterministic for a seed, offline, a few seconds.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ref_models import build_model, write_tokenizer_dir  # noqa: E402
import ref_models_llava  # noqa: E402


def main(out_dir, seed):
    out = Path(out_dir)
    model = build_model(tied=True, seed=seed)
    model.generation_config.eos_token_id = [151645, 151643]
    model.generation_config.pad_token_id = 151643
    model.save_pretrained(out)
    write_tokenizer_dir(out)
    (out / "DONE").write_text(json.dumps({"seed": seed}))


def main_llava(out_dir, seed):
    out = Path(out_dir)
    model = ref_models_llava.build_model("a", seed)
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 32001
    model.save_pretrained(out)
    ref_models_llava.write_tokenizer_dir(out)
    (out / "DONE").write_text(json.dumps({"seed": seed, "family": "llava"}))


if __name__ == "__main__":
    args = sys.argv[1:]
    seed = 0
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    family = "qwen2_5_vl"
    if "--family" in args:
        i = args.index("--family")
        family = args[i + 1]
        del args[i:i + 2]
    (main_llava if family == "llava" else main)(args[0], seed)
