"""Round-trip check used by tests/unit/models_qwen2_5_vl_weights_test.cpp: loads a directory balcap
saved with transformers' from_pretrained (float32, eager) and runs one reference case.

Usage: python tests/reference/check_reload_models.py MODEL_DIR CASE.safetensors
Prints one JSON line: {"max_abs_diff", "logit_std", "argmax_differences", "dtype"} against the
case's reference logits.
"""

import json
import sys

import torch
from safetensors.torch import load_file
from transformers import Qwen2_5_VLForConditionalGeneration


def main():
    model_dir, case_file = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32,
                                                               attn_implementation="eager").eval()
    case = load_file(case_file)
    inputs = {"input_ids": case["input_ids"][None], "attention_mask": case["attention_mask"][None],
              "mm_token_type_ids": case["mm_token_type_ids"][None]}
    if "pixel_values" in case:
        inputs.update(pixel_values=case["pixel_values"], image_grid_thw=case["image_grid_thw"])
    with torch.no_grad():
        logits = model(**inputs).logits[0]
    expected = case["logits"]
    print(json.dumps({"max_abs_diff": float((logits - expected).abs().max()), "logit_std": float(expected.std()),
                      "argmax_differences": int((logits.argmax(-1) != case["top1"]).sum()),
                      "dtype": str(json.load(open(f"{model_dir}/config.json")).get("dtype"))}))


if __name__ == "__main__":
    main()
