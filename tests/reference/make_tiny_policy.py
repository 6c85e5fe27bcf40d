"""A tiny random-weight Qwen2.5-VL policy in HF layout for the train tests and the demo.

    python tests/reference/make_tiny_policy.py OUT_DIR [--seed S]

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


def main(out_dir, seed):
    out = Path(out_dir)
    model = build_model(tied=True, seed=seed)
    model.generation_config.eos_token_id = [151645, 151643]
    model.generation_config.pad_token_id = 151643
    model.save_pretrained(out)
    write_tokenizer_dir(out)
    (out / "DONE").write_text(json.dumps({"seed": seed}))


if __name__ == "__main__":
    args = sys.argv[1:]
    seed = 0
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    main(args[0], seed)
