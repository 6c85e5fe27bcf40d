"""Reference outputs for the sampling area: a tiny random Qwen2.5-VL (the builders of ref_models.py)
and what transformers `generate` does on it (float32, CPU, eager attention).

Usage: python tests/reference/ref_sampling.py OUT_DIR

Writes into OUT_DIR:
  model/            save_pretrained of the tiny untied Qwen2.5-VL + tokenizer/processor files
  model_tied/       a tiny tied Qwen2.5-VL (greedy repeats tokens: the repetition-penalty case)
  model_stops/      the same weights; generation_config.json eos_token_id = [151645, STOP] where
                    STOP is a token greedy decoding of image 0 reaches (so a run really stops)
  llava/model/       tiny LLaVA-1.5 (ref_models_llava.py shape A) with tokenizer.json + LLaVA's added tokens
  llava/model_sp/    the same weights with LLaMA-2's tokenizer.model (rebuilt) instead of tokenizer.json
  images/*.png      synthetic images of different sizes (3 to 32 image tokens each); the last has
                    image 0's size (same prompt length: the sampler prefills the two together)
  distributions.safetensors   dist<i>: float64 [V] next-token distribution after image <i>'s prompt,
                    softmax(logits / T) restricted by top-k then top-p exactly as transformers'
                    TopK/TopP warpers (zero outside the kept set)
  reference.json    {"instruction", "images": [paths relative to OUT_DIR], "prompt_ids": [[...]],
                     "greedy": {"max_new_tokens", "ids": [[...] per image], "min_top2_gap"},
                     "stop": {"image", "stop_id", "max_new_tokens", "ids", "text"},
                     "min_new": {"image", "stop_id", "min_new_tokens", "max_new_tokens", "ids"},
                     "penalty": {"repetition_penalty", "max_new_tokens", "ids": [[...] per image]} (model_tied),
                     "distributions": [{"key", "image", "temperature", "top_k", "top_p", "support"}],
                     "llava": {"greedy": {"max_new_tokens", "min_new_tokens", "ids", "texts" (skip special)}}}
Every generate call is batch 1 (no padding), do_sample=False: the C++ side batches the images.
Deterministic and offline.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ref_models as rm  # noqa: E402

IMAGES = {"square_112.png": (112, 112, 2), "odd_150x90.png": (150, 90, 1), "tall_61x200.png": (61, 200, 3),
          "small_40x30.png": (40, 30, 4), "square_112_b.png": (112, 112, 5)}  # the last: image 0's size
EOS = 151645
GREEDY_TOKENS = 10


def make_processor(directory):
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLProcessor

    class ImageOnlyProcessor(Qwen2_5_VLProcessor):
        def check_argument_for_proper_class(self, name, arg):
            return None if arg is None else super().check_argument_for_proper_class(name, arg)

    return ImageOnlyProcessor(image_processor=AutoImageProcessor.from_pretrained(directory, backend="pil"),
                              tokenizer=AutoTokenizer.from_pretrained(directory), chat_template=rm.CHAT_TEMPLATE)


def inputs_for(processor, image_path):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": rm.PROMPT}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return processor(text=[text], images=[Image.open(image_path).convert("RGB")], return_tensors="pt")


def generate(model, inputs, max_new_tokens, **kwargs):
    out = model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens, top_k=None, top_p=None,
                         temperature=None, output_scores=True, return_dict_in_generate=True, **kwargs)
    ids = out.sequences[0, inputs["input_ids"].shape[1]:].tolist()
    gaps = [float((s[0].topk(2).values[0] - s[0].topk(2).values[1])) for s in out.scores]
    return ids, min(gaps)


def write_llava(out, images):
    """The tiny LLaVA-1.5 (shape A of ref_models_llava.py) in llava/model (tokenizer.json) and llava/model_sp
    (tokenizer.model), and transformers' greedy captions of the reference images (EOS blocked, as
    min_new_tokens does) with the Qwen reference's instruction."""
    import ref_models_llava as rl
    from transformers import AutoTokenizer, CLIPImageProcessorPil, LlavaProcessor
    root = out / "llava"
    rl.write_tokenizer_dir(root / "tokenizer")
    rl.write_sentencepiece_dir(root / "tokenizer", root / "tokenizer_sp")
    model = rl.build_model("a", 11)
    for name, tokenizer in (("model", "tokenizer"), ("model_sp", "tokenizer_sp")):
        model.save_pretrained(root / name)
        for f in (root / tokenizer).iterdir():
            shutil.copy(f, root / name / f.name)
    processor = LlavaProcessor(image_processor=CLIPImageProcessorPil.from_pretrained(root / "tokenizer"),
                               tokenizer=AutoTokenizer.from_pretrained(root / "tokenizer"),
                               chat_template=rl.CHAT_TEMPLATE, patch_size=14, vision_feature_select_strategy="default",
                               num_additional_image_tokens=1)
    ids = []
    for image in images:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": rm.PROMPT}]}]
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = processor(text=[text], images=[Image.open(out / image).convert("RGB")], return_tensors="pt")
        ids.append(generate(model, inputs, GREEDY_TOKENS, min_new_tokens=GREEDY_TOKENS)[0])
    texts = [processor.tokenizer.decode(i, skip_special_tokens=True) for i in ids]
    return {"max_new_tokens": GREEDY_TOKENS, "min_new_tokens": GREEDY_TOKENS, "ids": ids, "texts": texts}


def warped(logits, temperature, top_k, top_p):
    """TemperatureLogitsWarper -> TopKLogitsWarper -> TopPLogitsWarper (transformers), then softmax."""
    scores = logits.double() / temperature
    if top_k:
        kth = torch.topk(scores, top_k).values[-1]
        scores = scores.masked_fill(scores < kth, -float("inf"))
    if top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=False)
        cum = sorted_scores.softmax(-1).cumsum(-1)
        remove = cum <= (1 - top_p)
        remove[-1] = False
        scores = scores.masked_fill(remove.scatter(0, order, remove), -float("inf"))
    return scores.softmax(-1)


def main():
    out = Path(sys.argv[1])
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    torch.set_num_threads(2)
    rm.write_tokenizer_dir(out / "tokenizer")
    (out / "images").mkdir()
    for name, (w, h, seed) in IMAGES.items():
        Image.fromarray(rm.textured(w, h, seed)).save(out / "images" / name)
    processor = make_processor(out / "tokenizer")
    model = rm.build_model(False, 12)
    model.save_pretrained(out / "model")
    tied = rm.build_model(True, 11)
    tied.save_pretrained(out / "model_tied")
    for f in (out / "tokenizer").iterdir():
        shutil.copy(f, out / "model" / f.name)
        shutil.copy(f, out / "model_tied" / f.name)

    images = [f"images/{name}" for name in IMAGES]
    inputs = [inputs_for(processor, out / p) for p in images]
    ref = {"instruction": rm.PROMPT, "images": images,
           "prompt_ids": [x["input_ids"][0].tolist() for x in inputs]}
    with torch.no_grad():
        greedy = [generate(model, x, GREEDY_TOKENS) for x in inputs]
        ref["greedy"] = {"max_new_tokens": GREEDY_TOKENS, "ids": [g[0] for g in greedy],
                         "min_top2_gap": min(g[1] for g in greedy)}
        # A stop id greedy decoding of image 0 reaches at step t >= 2 without emitting it earlier.
        first = greedy[0][0]
        t = next(i for i in range(2, len(first)) if first[i] not in first[:i])
        stop_id = first[t]
        stop_ids, _ = generate(model, inputs[0], GREEDY_TOKENS, eos_token_id=[EOS, stop_id])
        stop_text = processor.tokenizer.decode(stop_ids[:-1], skip_special_tokens=True)
        ref["stop"] = {"image": 0, "stop_id": stop_id, "max_new_tokens": GREEDY_TOKENS, "ids": stop_ids,
                       "text": stop_text}
        min_new = t + 3
        min_ids, _ = generate(model, inputs[0], GREEDY_TOKENS, eos_token_id=[EOS, stop_id], min_new_tokens=min_new)
        ref["min_new"] = {"image": 0, "stop_id": stop_id, "min_new_tokens": min_new,
                          "max_new_tokens": GREEDY_TOKENS, "ids": min_ids}
        # The tied model repeats its tokens: there the penalty changes the greedy path.
        penalty = [generate(tied, x, GREEDY_TOKENS, repetition_penalty=1.3)[0] for x in inputs]
        ref["penalty"] = {"repetition_penalty": 1.3, "max_new_tokens": GREEDY_TOKENS, "ids": penalty}

        dists, tensors = [], {}
        settings = [(0, 1.0, 0, 1.0), (1, 0.7, 20, 1.0), (2, 1.3, 0, 0.8), (0, 1.0, 50, 0.9)]
        for i, (image, temperature, top_k, top_p) in enumerate(settings):
            logits = model(**inputs[image]).logits[0, -1]
            probs = warped(logits, temperature, top_k, top_p)
            tensors[f"dist{i}"] = probs.contiguous()
            dists.append({"key": f"dist{i}", "image": image, "temperature": temperature, "top_k": top_k,
                          "top_p": top_p, "support": int((probs > 0).sum())})
        ref["distributions"] = dists
        ref["llava"] = {"greedy": write_llava(out, images)}
    save_file(tensors, out / "distributions.safetensors")

    shutil.copytree(out / "model", out / "model_stops")
    gen = json.loads((out / "model_stops" / "generation_config.json").read_text())
    gen["eos_token_id"] = [EOS, stop_id]
    (out / "model_stops" / "generation_config.json").write_text(json.dumps(gen, indent=2))
    (out / "reference.json").write_text(json.dumps(ref, indent=1))
    print(f"greedy min top-2 gap {ref['greedy']['min_top2_gap']:.4f}; stop id {stop_id} at step {t}; "
          f"supports {[d['support'] for d in dists]}")


if __name__ == "__main__":
    main()
