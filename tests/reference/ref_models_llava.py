"""Reference outputs for LLaVA-1.5 in balcap (src/models/llava_*.h): tiny random-weight
LlavaForConditionalGeneration checkpoints and what transformers computes on them (float32, CPU, eager).

    python tests/reference/ref_models_llava.py OUT_DIR   (also run from ref_models.py, OUT_DIR/llava)

Writes into OUT_DIR:
  tokenizer/            LLaMA-2's tokenizer.json (tests/data/tokenizers/llama2) with LLaVA's added tokens
                        <image> = 32000 and <pad> = 32001 (as convert_llava_weights_to_hf.py adds them),
                        tokenizer_config.json, chat_template.json (llava-hf's), preprocessor_config.json
                        (CLIPImageProcessor at 56 px: 16 image tokens per image), processor_config.json
  models/a/             shape A: CLIP 3 layers, hidden 32, 4 heads, vision_feature_layer -2; LLaMA hidden 64,
                        4 heads, 2 kv heads, 2 layers, vocab 32064, untied. Saved by transformers (its save
                        spelling: language_model.model.*, vision_tower.* without vision_model.)
  models/a_hub/         the same weights in the llava-hf hub spelling (vision_tower.vision_model.*), one file
  models/a_v5names/     the same weights in the in-memory spelling (model.language_model.*, lm_head.weight)
  tokenizer_sp/         the same without tokenizer.json: LLaMA-2's tokenizer.model (rebuilt, llama_sentencepiece.py)
                        + the same tokenizer_config.json (its added_tokens_decoder gives <image> and <pad>)
  models/a_sp/          model a with tokenizer_sp's files: the sentencepiece route of a real LLaVA checkpoint
  models/b/             shape B: odd head counts (CLIP 3 heads of 16, LLaMA 3 heads of 20, 1 kv head),
                        vision_feature_layer [-3, -1] (two layers concatenated), 4 CLIP layers; sharded
  cases/<case>.safetensors  input_ids [S], attention_mask [S], pixel_values [1, 3, 56, 56],
                        image_features [16, E] (model.get_image_features), logits [S, V], top1 [S],
                        greedy [G] (generate, do_sample=False, 6 new tokens, prompt excluded)
  manifest.json         {"models": {name: {"dir", "shape"}}, "cases": [{"name", "model", "file", "image",
                         "prompt", "text" (templated), "prompt_ids" (tokenizer ids of the templated text,
                         before expansion), "seq_len"}], "chat": [{"system", "prompt", "text"}],
                         "sentencepiece": [{"text", "ids" (tokenizers on tokenizer.json, with BOS),
                         "transformers_ids" (AutoTokenizer on tokenizer/), "model_ids" (AutoTokenizer on
                         tokenizer_sp/, i.e. transformers' conversion of the tokenizer.model), "decoded",
                         "decoded_skip" (decode of ids, skip_special_tokens false/true)}]}
Every parameter is randomised (normal, nonzero biases, norm weights 1 +- 0.3). Deterministic, offline.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ref_models import DATA, randomise  # noqa: E402

# chat_template.json of llava-hf/llava-1.5-7b-hf: images first, then each text item + " ".
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}"
    "{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', "
    "'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != "
    "'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', "
    "'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")

IMAGE_SIZE = 56
PREPROCESSOR = {
    "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE}, "do_center_crop": True, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "CLIPImageProcessor", "processor_class": "LlavaProcessor", "resample": 3,
    "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": IMAGE_SIZE},
}
PROCESSOR = {"image_token": "<image>", "num_additional_image_tokens": 1, "patch_size": 14,
             "processor_class": "LlavaProcessor", "vision_feature_select_strategy": "default"}
SHAPES = {
    "a": dict(vision=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4),
              text=dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=2), feature_layer=-2),
    "b": dict(vision=dict(hidden_size=48, intermediate_size=40, num_hidden_layers=4, num_attention_heads=3),
              text=dict(hidden_size=60, intermediate_size=88, num_hidden_layers=2, num_attention_heads=3,
                        num_key_value_heads=1), feature_layer=[-3, -1]),
}
PROMPT = "Describe this image in detail."


def write_tokenizer_dir(directory):
    from tokenizers import AddedToken, Tokenizer
    directory.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_file(str(DATA / "tokenizers" / "llama2" / "tokenizer.json"))
    tok.add_special_tokens([AddedToken("<image>", special=True, normalized=False),
                            AddedToken("<pad>", special=True, normalized=False)])
    assert tok.token_to_id("<image>") == 32000 and tok.token_to_id("<pad>") == 32001
    tok.save(str(directory / "tokenizer.json"))
    config = json.loads((DATA / "tokenizers" / "llama2" / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    for token_id, content in ((32000, "<image>"), (32001, "<pad>")):  # as llava-hf's tokenizer_config.json
        config["added_tokens_decoder"][str(token_id)] = {"content": content, "lstrip": False, "normalized": False,
                                                         "rstrip": False, "single_word": False, "special": True}
    config.update(pad_token="<pad>", processor_class="LlavaProcessor")
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (directory / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}, indent=2))
    (directory / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2))
    (directory / "processor_config.json").write_text(json.dumps(PROCESSOR, indent=2))


def build_model(shape, seed):
    from transformers import LlavaConfig, LlavaForConditionalGeneration
    s = SHAPES[shape]
    vision = dict(s["vision"], model_type="clip_vision_model", image_size=IMAGE_SIZE, patch_size=14,
                  projection_dim=16, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    text = dict(s["text"], model_type="llama", vocab_size=32064, rms_norm_eps=1e-5, max_position_embeddings=4096,
                pad_token_id=32001, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=32000,
                         vision_feature_layer=s["feature_layer"], vision_feature_select_strategy="default",
                         projector_hidden_act="gelu", image_seq_length=(IMAGE_SIZE // 14) ** 2, pad_token_id=32001)
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration._from_config(config, attn_implementation="eager", dtype=torch.float32)
    randomise(model, seed)
    return model.eval()


def respell(source, target, rename):
    """One-file copy of `source`'s weights under other names, with its config files."""
    target.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for f in sorted(source.glob("*.safetensors")):
        tensors.update(load_file(f))
    save_file({rename(k): v.contiguous() for k, v in tensors.items()}, target / "model.safetensors",
              metadata={"format": "pt"})
    for name in ("config.json", "generation_config.json"):
        shutil.copy(source / name, target / name)


def hub_name(name):  # transformers 5 save spelling -> llava-hf hub spelling
    return "vision_tower.vision_model." + name[len("vision_tower."):] if name.startswith("vision_tower.") else name


def v5_name(name):  # -> in-memory names
    for disk, module in (("language_model.model.", "model.language_model."), ("language_model.lm_head.", "lm_head."),
                         ("vision_tower.", "model.vision_tower."),
                         ("multi_modal_projector.", "model.multi_modal_projector.")):
        if name.startswith(disk):
            return module + name[len(disk):]
    return name


def run_case(model, processor, out, case):
    from PIL import Image
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": case["prompt"]}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    image = Image.open(DATA / "images" / case["image"])
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0].float()
        features = model.get_image_features(pixel_values=inputs["pixel_values"])
        features = features.pooler_output if hasattr(features, "pooler_output") else features
        features = torch.cat(list(features), 0) if isinstance(features, (list, tuple)) else features.reshape(
            -1, features.shape[-1])
        generated = model.generate(**inputs, do_sample=False, max_new_tokens=6, min_new_tokens=6)
    prompt_len = inputs["input_ids"].shape[1]
    tensors = {"input_ids": inputs["input_ids"][0].long(), "attention_mask": inputs["attention_mask"][0].long(),
               "pixel_values": inputs["pixel_values"].float().contiguous(),
               "image_features": features.float().contiguous(), "logits": logits.contiguous(),
               "top1": logits.argmax(-1), "greedy": generated[0, prompt_len:].long().contiguous()}
    file = f"cases/{case['name']}.safetensors"
    save_file(tensors, out / file)
    prompt_ids = processor.tokenizer(text)["input_ids"]
    return {**case, "file": file, "text": text, "prompt_ids": prompt_ids, "seq_len": int(prompt_len)}


# Texts for the tokenizer.model route: the LLaVA prompts (one and 16 <image>s), added and special tokens
# inside text, runs of spaces and newlines, bytes outside the vocabulary.
SP_TEXTS = [
    "USER: <image>\nDescribe this image in detail. ASSISTANT:",
    "USER: " + "<image>" * 16 + "\nWhat is happening here? ASSISTANT: A rocket lifts off.</s>",
    "You are a careful captioner. USER: <image>\nWhat is in the picture? ASSISTANT:",
    "<s> USER: <image><image>\nhello <pad>world ASSISTANT: a cat</s>",
    "<image> a space after an added token</s> USER:",
    "USER: <image>\n  hello   there ASSISTANT:",
    "USER:  \n\n\tTabs,   three spaces and emoji \U0001F600 ASSISTANT:",
    "Ünïcödé façade — 東京の写真 <image>",
]


def sentencepiece_cases(json_dir, sp_dir):
    """What each HF route gives for SP_TEXTS: `tokenizers` on the checkpoint's tokenizer.json (as transformers 4.x,
    vLLM and TGI run it), transformers 5.24 on that directory (its LlamaTokenizer rebuilds the pipeline with a
    Metaspace pre-tokenizer that does not add "▁" before a segment already starting with a space), and
    transformers 5.24 on the tokenizer.model alone."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    raw = Tokenizer.from_file(str(json_dir / "tokenizer.json"))
    from_json, from_model = AutoTokenizer.from_pretrained(json_dir), AutoTokenizer.from_pretrained(sp_dir)
    out = []
    for text in SP_TEXTS:
        ids = raw.encode(text).ids
        decoded = raw.decode(ids, skip_special_tokens=False)
        assert decoded == from_json.decode(ids), (decoded, from_json.decode(ids))
        out.append({"text": text, "ids": ids, "transformers_ids": from_json(text)["input_ids"],
                    "model_ids": from_model(text)["input_ids"], "decoded": decoded,
                    "decoded_skip": raw.decode(ids, skip_special_tokens=True)})
    return out


def write_sentencepiece_dir(json_dir, sp_dir):
    from llama_sentencepiece import write_model
    sp_dir.mkdir(parents=True)
    for f in json_dir.iterdir():
        if f.name != "tokenizer.json":
            shutil.copy(f, sp_dir / f.name)
    write_model(sp_dir / "tokenizer.model")


def chat_renderings(processor):
    out = []
    for system, prompt in (("", PROMPT), ("You are a careful captioner.", "What is in the picture?")):
        messages = ([{"role": "system", "content": [{"type": "text", "text": system}]}] if system else []) + [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        out.append({"system": system, "prompt": prompt,
                    "text": processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)})
    return out


def main(out):
    from transformers import AutoTokenizer, CLIPImageProcessorPil, LlavaProcessor
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "cases").mkdir(parents=True)
    torch.set_num_threads(2)
    write_tokenizer_dir(out / "tokenizer")
    processor = LlavaProcessor(image_processor=CLIPImageProcessorPil.from_pretrained(out / "tokenizer"),
                               tokenizer=AutoTokenizer.from_pretrained(out / "tokenizer"),
                               chat_template=CHAT_TEMPLATE, patch_size=14, vision_feature_select_strategy="default",
                               num_additional_image_tokens=1)
    write_sentencepiece_dir(out / "tokenizer", out / "tokenizer_sp")
    models = {"a": build_model("a", 11), "b": build_model("b", 12)}
    models["a"].save_pretrained(out / "models" / "a")
    models["b"].save_pretrained(out / "models" / "b", max_shard_size="2MB")
    respell(out / "models" / "a", out / "models" / "a_hub", hub_name)
    respell(out / "models" / "a", out / "models" / "a_v5names", v5_name)
    respell(out / "models" / "a", out / "models" / "a_sp", lambda name: name)
    for name in ("a", "a_hub", "a_v5names", "a_sp", "b"):
        tokenizer_dir = out / ("tokenizer_sp" if name == "a_sp" else "tokenizer")
        for f in tokenizer_dir.iterdir():
            shutil.copy(f, out / "models" / name / f.name)
    cases = [{"name": "chelsea_a", "model": "a", "image": "chelsea.png", "prompt": PROMPT},
             {"name": "rocket_a", "model": "a", "image": "rocket.jpg", "prompt": "What is happening here?"},
             {"name": "coffee_b", "model": "b", "image": "coffee.png", "prompt": PROMPT}]
    results = [run_case(models[c["model"]], processor, out, c) for c in cases]
    manifest = {"models": {name: {"dir": f"models/{name}", "shape": name[0]} for name in ("a", "a_hub", "a_v5names", "a_sp", "b")},
                "cases": results, "chat": chat_renderings(processor),
                "sentencepiece": sentencepiece_cases(out / "tokenizer", out / "tokenizer_sp")}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for r in results:
        print(f"llava {r['name']}: S={r['seq_len']}")


if __name__ == "__main__":
    main(sys.argv[1])
