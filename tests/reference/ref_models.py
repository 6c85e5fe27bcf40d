"""Reference outputs for the models area: tiny random-weight Qwen2.5-VL checkpoints and what
transformers computes on them (float32, CPU, eager attention).

Usage: python tests/reference/ref_models.py OUT_DIR

Writes into OUT_DIR:
  tokenizer/                      tokenizer.json (decompressed from tests/data/tokenizers/qwen),
                                  tokenizer_config.json, chat_template.json, preprocessor_config.json
                                  (min_pixels 3136, max_pixels 25088: at most 32 image tokens per image)
  models/tied/                    save_pretrained of a tiny Qwen2.5-VL with tie_word_embeddings true
                                  (no lm_head.weight on disk), + the tokenizer/processor files. NOTE:
                                  transformers 5.24 save_pretrained writes the hub (v4) tensor names
                                  (`model.layers.*`, `visual.*`) with a v5 nested config.json
  models/untied/                  the same architecture, different random weights, untied lm_head, saved
                                  sharded (max_shard_size 20MB -> model-0000i-of-0000N + index)
  models/untied_legacy/           the `untied` weights, one file, hub tensor names, with a flat v4
                                  config.json (text keys at the top, rope_scaling {type: mrope})
  models/untied_v5names/          the `untied` weights, one file, renamed to the in-memory v5 names
                                  (`model.language_model.*`, `model.visual.*`), v5 config.json
  images/*.png                    synthetic images used by the cases (odd sizes)
  lora_inputs.json                {"ids": [[...], [...]]}: two text-only rows of equal length (random ids
                                  below 151643) for the LoRA tests (models_lora_test.cpp, on models/untied)
  cases/<case>.safetensors        per case (batch of one; B dimension dropped unless noted):
      input_ids        int64 [S]          processor output for the captioning chat template
      attention_mask   int64 [S]
      mm_token_type_ids int64 [S]         0 text, 1 image
      pixel_values     float32 [N, 1176]  (absent for text-only cases)
      image_grid_thw   int64 [n_images, 3] (absent for text-only cases)
      vision_output    float32 [N/4, 64]  model.model.visual(pixel_values, grid_thw).pooler_output
                                          (merged features in HF order; absent for text-only cases)
      position_ids     int64 [3, 1, S]    model.model.get_rope_index(...) (text-only: arange x3)
      rope_deltas      int64 [1, 1]
      logits           float32 [S, V]     model(**inputs).logits[0], V = 151936
      top1             int64 [S]          logits.argmax(-1)
  llava/                          tiny LLaVA-1.5 checkpoints and cases (tests/reference/ref_models_llava.py)
  manifest.json                   {"models": {name: {"dir", "layout" ("hub"|"v5" tensor names), "tied"}},
                                   "cases": [{"name", "model", "file", "prompt", "text" (templated prompt),
                                              "images": [paths relative to OUT_DIR], "image_grid_thw",
                                              "seq_len", "logit_std"}]}

The tiny config: text hidden 64, 2 layers, 4 heads, 2 kv heads (head_dim 16, mrope_section [2,3,3]),
intermediate 128, vocab 151936 (the real Qwen ids); vision depth 4, hidden 64, 4 heads, intermediate 96,
window_size 56 (2x2 merged units per window), fullatt_block_indexes [1, 3], out_hidden_size 64.
Every parameter is randomised (normal, nonzero biases, norm weights 1 +- 0.3), not HF's default init.
Deterministic and offline.
"""

import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"

# The Qwen2.5-VL processor chat template (chat_template.json of the hub checkpoints).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

PREPROCESSOR = {
    "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor",
    "min_pixels": 3136, "max_pixels": 25088,
}

TEXT = dict(vocab_size=151936, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, rms_norm_eps=1e-6,
            hidden_act="silu", rope_theta=1000000.0, mrope_section=[2, 3, 3])
VISION = dict(depth=4, hidden_size=64, intermediate_size=96, num_heads=4, in_channels=3, patch_size=14,
              temporal_patch_size=2, spatial_merge_size=2, window_size=56, out_hidden_size=64,
              tokens_per_second=2, fullatt_block_indexes=[1, 3], hidden_act="silu")
TOKEN_IDS = dict(image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
                 vision_end_token_id=151653, bos_token_id=151643, eos_token_id=151645)

PROMPT = "Describe this image."


def textured(width, height, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255.0 / max(width - 1, 1), y * 255.0 / max(height - 1, 1),
                     (x + y) * 127.0 / max(width + height - 2, 1)], axis=-1)
    return np.clip(base + rng.normal(0.0, 40.0, size=(height, width, 3)), 0, 255).astype(np.uint8)


def write_tokenizer_dir(directory):
    directory.mkdir(parents=True, exist_ok=True)
    with gzip.open(DATA / "tokenizers" / "qwen" / "tokenizer.json.gz", "rb") as f:
        (directory / "tokenizer.json").write_bytes(f.read())
    config = json.loads((DATA / "tokenizers" / "qwen" / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)  # that one is the text model's; the processor's is chat_template.json
    config["processor_class"] = "Qwen2_5_VLProcessor"
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (directory / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}, indent=2))
    (directory / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2))


def make_config():
    from transformers import Qwen2_5_VLConfig
    text = dict(TEXT)
    mrope = text.pop("mrope_section")
    theta = text.pop("rope_theta")
    text["rope_parameters"] = {"rope_type": "default", "mrope_section": mrope, "rope_theta": theta}
    return Qwen2_5_VLConfig(text_config=text, vision_config=dict(VISION), **TOKEN_IDS)


def randomise(model, seed):
    """Every parameter random (biases nonzero, norms around 1); buffers untouched."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_q" in name:
                p.copy_(1.0 + 0.3 * (2 * torch.rand(p.shape, generator=generator) - 1))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in ** 0.5)


def build_model(tied, seed):
    from transformers import Qwen2_5_VLForConditionalGeneration
    config = make_config()
    config.tie_word_embeddings = tied
    config.text_config.tie_word_embeddings = tied
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration._from_config(config, attn_implementation="eager",
                                                           dtype=torch.float32)
    randomise(model, seed)
    model.eval()
    shared = model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    assert shared == tied, f"tie_word_embeddings={tied} but lm_head shared={shared}"
    return model


def legacy_name(name):
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    if name.startswith("model.visual."):
        return "visual." + name[len("model.visual."):]
    return name


def v5_name(name):
    if name.startswith("model.") and not name.startswith("model.language_model."):
        return "model.language_model." + name[len("model."):]
    if name.startswith("visual."):
        return "model." + name
    return name


def copy_weights(source, target, rename):
    target.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for f in sorted(source.glob("*.safetensors")):
        tensors.update(load_file(f))
    renamed = {rename(k): v.contiguous() for k, v in tensors.items()}
    save_file(renamed, target / "model.safetensors", metadata={"format": "pt"})


def write_v5_names_copy(source, target):
    copy_weights(source, target, v5_name)
    shutil.copy(source / "config.json", target / "config.json")
    shutil.copy(source / "generation_config.json", target / "generation_config.json")


def write_legacy_copy(source, target, tied):
    """The v4 hub spelling: hub tensor names, one file, flat config."""
    copy_weights(source, target, legacy_name)
    config = {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
              "torch_dtype": "float32", "transformers_version": "4.41.2", "use_cache": True,
              "tie_word_embeddings": tied, "attention_dropout": 0.0, "sliding_window": 32768,
              "max_window_layers": 2, "use_sliding_window": False}
    text = dict(TEXT)
    config.update({k: v for k, v in text.items() if k != "mrope_section"})
    config["rope_scaling"] = {"type": "mrope", "mrope_section": TEXT["mrope_section"]}
    config.update(TOKEN_IDS)
    config["vision_config"] = dict(VISION, model_type="qwen2_5_vl", in_chans=3)
    (target / "config.json").write_text(json.dumps(config, indent=2))
    shutil.copy(source / "generation_config.json", target / "generation_config.json")


def make_images(out):
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    synthetic = {"odd_150x90.png": (150, 90, 1), "square_112.png": (112, 112, 2), "tall_61x200.png": (61, 200, 3)}
    for name, (w, h, seed) in synthetic.items():
        Image.fromarray(textured(w, h, seed)).save(images / name)
    for name in ["chelsea.png", "rocket.jpg"]:
        shutil.copy(DATA / "images" / name, images / name)


def run_case(model, processor, out, case):
    from transformers.image_utils import load_image
    content = [{"type": "image"} for _ in case["images"]] + [{"type": "text", "text": case["prompt"]}]
    messages = [{"role": "user", "content": content}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images = [load_image(str(out / p)) for p in case["images"]] or None
    inputs = processor(text=[text], images=images, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0].float()
        kwargs = {"mm_token_type_ids": inputs["mm_token_type_ids"], "attention_mask": inputs["attention_mask"]}
        if images:
            kwargs["image_grid_thw"] = inputs["image_grid_thw"]
            position_ids, rope_deltas = model.model.get_rope_index(inputs["input_ids"], **kwargs)
        else:
            s = inputs["input_ids"].shape[1]
            position_ids = torch.arange(s).view(1, 1, s).expand(3, 1, s).contiguous()
            rope_deltas = torch.zeros(1, 1, dtype=torch.long)
        tensors = {
            "input_ids": inputs["input_ids"][0].long(), "attention_mask": inputs["attention_mask"][0].long(),
            "mm_token_type_ids": inputs["mm_token_type_ids"][0].long(),
            "position_ids": position_ids.long().contiguous(), "rope_deltas": rope_deltas.long().reshape(1, 1),
            "logits": logits.contiguous(), "top1": logits.argmax(-1),
        }
        if images:
            grid = inputs["image_grid_thw"].long()
            vision = model.model.visual(inputs["pixel_values"], grid_thw=grid)
            vision = vision.pooler_output if hasattr(vision, "pooler_output") else vision
            tensors.update(pixel_values=inputs["pixel_values"].float().contiguous(), image_grid_thw=grid,
                           vision_output=vision.float().contiguous())
            # HF used 3-D positions iff the image rows differ: check they are not plain arange.
            assert not torch.equal(position_ids[0], position_ids[1]), "3-D positions expected"
            # ... and that the forward used them (without mm_token_type_ids v5 silently falls back to 1-D).
            plain = {k: v for k, v in inputs.items() if k != "mm_token_type_ids"}
            assert not torch.allclose(model(**plain).logits[0], logits), "forward did not use M-RoPE"
    file = f"cases/{case['name']}.safetensors"
    save_file(tensors, out / file)
    return {**case, "file": file, "text": text, "seq_len": int(inputs["input_ids"].shape[1]),
            "image_grid_thw": tensors["image_grid_thw"].tolist() if images else [],
            "logit_std": float(logits.std())}


def main():
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLProcessor
    out = Path(sys.argv[1])
    if out.exists():
        shutil.rmtree(out)
    (out / "cases").mkdir(parents=True)
    torch.set_num_threads(2)
    write_tokenizer_dir(out / "tokenizer")
    make_images(out)
    # Built from its parts: AutoProcessor would also want a video processor (torchvision, absent here);
    # the class check is skipped only for that missing (None) video processor.
    class ImageOnlyProcessor(Qwen2_5_VLProcessor):
        def check_argument_for_proper_class(self, name, arg):
            return None if arg is None else super().check_argument_for_proper_class(name, arg)

    processor = ImageOnlyProcessor(image_processor=AutoImageProcessor.from_pretrained(out / "tokenizer", backend="pil"),
                                    tokenizer=AutoTokenizer.from_pretrained(out / "tokenizer"),
                                    chat_template=CHAT_TEMPLATE)
    assert type(processor.image_processor).__name__.endswith("Pil"), type(processor.image_processor)

    models = {"tied": build_model(True, 1), "untied": build_model(False, 2)}
    models["tied"].save_pretrained(out / "models" / "tied")
    models["untied"].save_pretrained(out / "models" / "untied", max_shard_size="20MB")
    write_legacy_copy(out / "models" / "untied", out / "models" / "untied_legacy", tied=False)
    write_v5_names_copy(out / "models" / "untied", out / "models" / "untied_v5names")
    for name in ["tied", "untied", "untied_legacy", "untied_v5names"]:
        for f in (out / "tokenizer").iterdir():
            shutil.copy(f, out / "models" / name / f.name)

    cases = [
        {"name": "chelsea", "model": "tied", "images": ["images/chelsea.png"], "prompt": PROMPT},
        {"name": "odd", "model": "tied", "images": ["images/odd_150x90.png"], "prompt": PROMPT},
        {"name": "square", "model": "tied", "images": ["images/square_112.png"], "prompt": PROMPT},
        {"name": "tall_untied", "model": "untied", "images": ["images/tall_61x200.png"], "prompt": PROMPT},
        {"name": "rocket_untied", "model": "untied", "images": ["images/rocket.jpg"], "prompt": PROMPT},
        {"name": "text_only", "model": "tied", "images": [], "prompt": "Write a short poem about the sea."},
        {"name": "text_only_untied", "model": "untied", "images": [], "prompt": PROMPT},
        {"name": "two_images", "model": "tied", "images": ["images/odd_150x90.png", "images/chelsea.png"],
         "prompt": "Compare the two images."},
    ]
    results = [run_case(models[c["model"]], processor, out, c) for c in cases]
    # layout: the tensor names on disk ("hub": model.layers.* / visual.*, "v5": model.language_model.*).
    manifest = {"models": {"tied": {"dir": "models/tied", "layout": "hub", "tied": True},
                           "untied": {"dir": "models/untied", "layout": "hub", "tied": False},
                           "untied_legacy": {"dir": "models/untied_legacy", "layout": "hub", "tied": False,
                                             "flat_config": True},
                           "untied_v5names": {"dir": "models/untied_v5names", "layout": "v5", "tied": False}},
                "cases": results}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    generator = torch.Generator().manual_seed(5)
    lora_ids = torch.randint(0, 151643, (2, 10), generator=generator)
    (out / "lora_inputs.json").write_text(json.dumps({"ids": lora_ids.tolist()}))
    for r in results:
        print(f"{r['name']}: S={r['seq_len']} grid={r['image_grid_thw']} logit_std={r['logit_std']:.3f}")
    __import__("ref_models_token_logprobs").main(out)  # chunked token logprobs (ref_models_token_logprobs.py)
    __import__("ref_models_llava").main(out / "llava")  # tiny LLaVA-1.5 checkpoints (ref_models_llava.py)


if __name__ == "__main__":
    main()
