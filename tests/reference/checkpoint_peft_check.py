"""Loads balcap's LoRA outputs with PEFT and transformers and prints the comparisons as one JSON line.

Usage: python tests/reference/checkpoint_peft_check.py BASE_DIR ADAPTER_DIR MERGED_DIR BALCAP_LOGITS INPUTS_JSON

  BASE_DIR       the base model (transformers directory)
  ADAPTER_DIR    adapters saved by balcap (adapter_config.json + adapter_model.safetensors)
  MERGED_DIR     `balcap export` output (adapters merged into the base)
  BALCAP_LOGITS  safetensors with `logits` [B, S, V]: balcap's forward with the adapters active, or "-"
                 (then "peft_vs_balcap" is null)
Any image-text-to-text checkpoint (Qwen2.5-VL, LLaVA-1.5), run on the text rows of INPUTS_JSON.
Prints {"adapted_layers", "loaded_equal" (PEFT's lora weights == the file's), "peft_vs_balcap",
"merged_vs_peft_merged", "merged_vs_peft" (max abs logit differences), "logit_std"}.
"""
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText


def load(path):
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def main():
    base_dir, adapter_dir, merged_dir, balcap_logits, inputs = sys.argv[1:6]
    ids = torch.tensor(json.load(open(inputs))["ids"])
    ours = None if balcap_logits == "-" else load_file(balcap_logits)["logits"]
    peft_model = PeftModel.from_pretrained(load(base_dir), adapter_dir).eval()
    saved = load_file(f"{adapter_dir}/adapter_model.safetensors")
    adapted, equal = 0, True
    for name, module in peft_model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            adapted += 1
            key = "base_model.model." + name.removeprefix("base_model.model.")
            equal &= torch.equal(module.lora_A["default"].weight, saved[key + ".lora_A.weight"])
            equal &= torch.equal(module.lora_B["default"].weight, saved[key + ".lora_B.weight"])
    with torch.no_grad():
        peft_logits = peft_model(input_ids=ids).logits
        merged_ref = peft_model.merge_and_unload()(input_ids=ids).logits
        exported = load(merged_dir)(input_ids=ids).logits
    print(json.dumps({
        "adapted_layers": adapted,
        "saved_tensors": len(saved),
        "loaded_equal": bool(equal),
        "peft_vs_balcap": None if ours is None else (peft_logits - ours).abs().max().item(),
        "merged_vs_peft_merged": (exported - merged_ref).abs().max().item(),
        "merged_vs_peft": (exported - peft_logits).abs().max().item(),
        "lora_effect": (peft_logits - load(base_dir)(input_ids=ids).logits).abs().max().item(),
        "logit_std": peft_logits.std().item(),
    }))


if __name__ == "__main__":
    main()
