"""Round-trip check used by tests/parity/rewards_text_lm_test.cpp: loads directories balcap saved
with transformers' AutoModelForCausalLM.from_pretrained (float32, eager) and runs a reference LM case
of ref_rewards.py on each.

Usage: python tests/reference/check_reload_text_lm.py MODEL_DIR CASE.safetensors [MODEL_DIR CASE ...]
Prints one JSON line per pair: {"architecture", "max_abs_diff", "logit_std", "argmax_differences"}
against the case's reference logits.
"""

import json
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main():
    torch.set_num_threads(2)
    args = sys.argv[1:]
    for model_dir, case_file in zip(args[0::2], args[1::2]):
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()
        case = load_file(case_file)
        with torch.no_grad():
            logits = model(input_ids=case["input_ids"][None]).logits[0]
        expected = case["logits"]
        print(json.dumps({"architecture": type(model).__name__, "max_abs_diff": float((logits - expected).abs().max()),
                          "logit_std": float(expected.std()),
                          "argmax_differences": int((logits.argmax(-1) != expected.argmax(-1)).sum())}))


if __name__ == "__main__":
    main()
