"""Greedy captions of a LLaVA-1.5 checkpoint by transformers, for the images of a balcap JSONL dataset; used by
tests/e2e/train_loop_test.cpp to check `balcap eval` on a trained LLaVA checkpoint.

Usage: python tests/reference/check_llava_generate.py MODEL_DIR DATA.jsonl PROMPT MAX_NEW_TOKENS
Prints one JSON object {record id: caption} (generate, do_sample=False, stopping at generation_config's EOS;
the caption decoded with skip_special_tokens). Images are decoded as transformers' load_image does (RGB).
"""
import json
import sys
from pathlib import Path

import torch
from transformers import AutoProcessor, LlavaForConditionalGeneration
from transformers.image_utils import load_image


def main():
    model_dir, data, prompt, max_new = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    torch.set_num_threads(2)
    model = LlavaForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32,
                                                          attn_implementation="eager").eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    out = {}
    for line in data.read_text().splitlines():
        record = json.loads(line)
        image = load_image(str(data.parent / record["image"]))
        inputs = processor(text=[text], images=[image], return_tensors="pt")
        with torch.no_grad():
            ids = model.generate(**inputs, do_sample=False, max_new_tokens=max_new, top_k=None, top_p=None,
                                 temperature=None)[0, inputs["input_ids"].shape[1]:]
        out[record["id"]] = processor.tokenizer.decode(ids, skip_special_tokens=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
