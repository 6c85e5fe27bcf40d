"""Round-trip check used by tests/parity/models_llava_parity_test.cpp: loads a directory balcap saved
with transformers' LlavaForConditionalGeneration.from_pretrained (float32, eager) and runs one case of
ref_models_llava.py.

Usage: python tests/reference/check_reload_llava.py MODEL_DIR CASE.safetensors
Prints one JSON line: {"max_abs_diff", "logit_std", "argmax_differences"} against the case's logits.
"""
import json
import sys

import torch
from safetensors.torch import load_file
from transformers import LlavaForConditionalGeneration


def main():
    model_dir, case_file = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    model = LlavaForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32,
                                                          attn_implementation="eager").eval()
    case = load_file(case_file)
    with torch.no_grad():
        logits = model(input_ids=case["input_ids"][None], attention_mask=case["attention_mask"][None],
                       pixel_values=case["pixel_values"]).logits[0]
    expected = case["logits"]
    print(json.dumps({"max_abs_diff": float((logits - expected).abs().max()), "logit_std": float(expected.std()),
                      "argmax_differences": int((logits.argmax(-1) != case["top1"]).sum())}))


if __name__ == "__main__":
    main()
