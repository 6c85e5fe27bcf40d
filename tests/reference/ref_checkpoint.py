"""Reference inputs for the checkpoint area (LoRA / PEFT / export tests).

Usage: python tests/reference/ref_checkpoint.py OUT_DIR

Writes into OUT_DIR:
  base/         save_pretrained of a tiny random Qwen2.5-VL (tests/reference/ref_models.py's builder,
                untied lm_head, float32): the base model the C++ test puts LoRA adapters on
  inputs.json   {"ids": [[...], [...]]}: two text-only rows of equal length (random ids below 151643)
The comparison with PEFT runs later, in tests/reference/checkpoint_peft_check.py, on what the C++ test
wrote (adapters, balcap's logits, the merged export).
"""
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ref_models  # noqa: E402


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    model = ref_models.build_model(tied=False, seed=77)
    model.save_pretrained(out / "base")
    generator = torch.Generator().manual_seed(5)
    ids = torch.randint(0, 151643, (2, 10), generator=generator)
    (out / "inputs.json").write_text(json.dumps({"ids": ids.tolist()}))


if __name__ == "__main__":
    main()
