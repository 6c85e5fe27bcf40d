"""Reference outputs for the rewards area: tiny random judge models and what transformers computes on
them (float32, CPU, eager attention). Other tests (the local judge, `balcap serve`, the remote judge)
read the models from here.

Usage: python tests/reference/ref_rewards.py OUT_DIR      (OUT_DIR = build/reference/rewards)

Writes into OUT_DIR:
  models/qwen2/     tiny Qwen2ForCausalLM (tie_word_embeddings true, as Qwen2.5-0.5B/1.5B/3B-Instruct),
                    the real Qwen tokenizer (tokenizer.json gunzipped from tests/data/tokenizers/qwen) with
                    the Qwen2.5-Instruct chat template (tools branch left out) in tokenizer_config.json;
                    generation_config.json eos_token_id [151645 <|im_end|>, 151643 <|endoftext|>, X] where
                    X is the 4th token greedy decoding emits for GENERATIONS[0] (a random model never says
                    <|im_end|>: X makes "stop" happen, at a known step)
  models/llama/     tiny LlamaForCausalLM (untied lm_head, no biases) with the LLaMA-2 tokenizer and the
                    Llama-2-chat template; generation_config eos_token_id [2 </s>, X] (X as above)
  models/qwen_vl/   tiny Qwen2.5-VL (the architecture of tests/reference/ref_models.py, tied) with the Qwen
                    tokenizer, Qwen2.5-VL chat template and processor config (at most 32 image tokens)
  models/llava/     tiny LLaVA-1.5 (ref_models_llava.py shape A, seed 24) with LLaMA-2's tokenizer + <image>/<pad>,
                    llava-hf's chat template and a 56 px CLIP processor (16 image tokens); its prompts are
                    the chat template's with the BOS as text ("<s>USER: <image>\n... ASSISTANT:"), an empty
                    system message left out (the template has no default)
  images/*.png      synthetic images the vision cases use
  lm/<model>_<i>.safetensors   input_ids int64 [S], logits float32 [S, V]: model(input_ids).logits[0]
  manifest.json     {"models": {name: {"dir", "family", "tied", "eos_token_ids", "vision"}},
                     "lm_cases": [{"model", "file", "text", "seq_len", "logit_std"}],
                     "judge_cases": [{"model", "system", "user", "image" (path rel. to OUT_DIR or null),
                                      "prompt_text" (apply_chat_template, add_generation_prompt),
                                      "prompt_ids", "choices", "choice_ids" (tokens after the prompt),
                                      "logprobs" (exact log P(choice | prompt), float64 sums)}],
                     "generations": [{"model", "system", "user", "image", "max_new_tokens", "prompt_ids",
                                      "ids" (generated, stop token included as generate returns it),
                                      "finish_reason" ("stop"|"length"),
                                      "text" (decode of ids without the stop token, skip_special_tokens)}]}

Tiny sizes: hidden 64, 2 layers, 4 heads, 2 kv heads (head_dim 16), intermediate 128; vocab = the real
tokenizer's (151936 for Qwen, 32000 for LLaMA). Every parameter randomised (not HF's default init; see randomise).
Deterministic, offline, a few seconds.
"""

import gzip
import os
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # save_pretrained's shard bar

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ref_models  # noqa: E402  (tiny Qwen2.5-VL builder, randomiser, tokenizer dir writer)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"

# Qwen2.5-Instruct's chat template without its tools branch (identical output for system/user/assistant).
QWEN2_5_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or "
    "(message.role == 'assistant') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")

# meta-llama/Llama-2-7b-chat-hf tokenizer_config.json chat_template.
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}")

DECODER = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, max_position_embeddings=4096, hidden_act="silu")

SYSTEM = "You are a careful judge of image captions."
YES_NO = ["yes", "no", "Yes", "No", " yes"]
LETTERS = ["A", "B", "C", "D", "E"]
RATINGS = [str(i) for i in range(1, 11)]

# (system, user, choices); the vision judge also gets an image.
JUDGE_TEXT = [
    (SYSTEM, "Caption: A grey cat sleeps on a red sofa.\nClaim: The sofa is red.\n"
             "Is the claim supported by the caption? Answer yes or no.", YES_NO),
    (SYSTEM, "Caption: Two boats on a calm lake at dusk.\nQuestion: How many boats are there?\n"
             "A. one\nB. two\nC. three\nD. four\nE. cannot answer from the caption\nAnswer with the letter.", LETTERS),
    (SYSTEM, "Rate the fluency of this caption from 1 to 10.\nCaption: A café terrace, wet cobbles — "
             "lamps glow.\nRating:", RATINGS),
    ("", "Is this caption fluent? Answer yes or no.\nCaption: dog dog dog the the.", YES_NO),
]
JUDGE_VISION = [
    (SYSTEM, "Claim: there is a cat in the image. Is the claim true? Answer yes or no.", YES_NO,
     "images/cat_64x48.png"),
    (SYSTEM, "Rate how well the caption describes the image, 1 to 10.\nCaption: a striped pattern.", RATINGS,
     "images/stripes_90x60.png"),
]
# (system, user, max_new_tokens); GENERATIONS[0] also picks the extra stop id.
GENERATIONS = [
    (SYSTEM, "Split the caption into atomic claims, one per line.\nCaption: A grey cat sleeps on a red sofa.", 12),
    (SYSTEM, "List the objects in: two boats on a calm lake at dusk.", 10),
    ("", "Say something.", 6),
]
LM_TEXTS = ["The quick brown fox jumps over the lazy dog. Café ☕ 12345",
            "<|im_start|>user\nhi<|im_end|>\n"]  # Qwen specials tokenize as text for LLaMA


def randomise(model, seed):
    """ref_models' randomisation, then the residual-writing projections (o_proj, down_proj) x3: with
    weights of unit gain a tied model's residual stream stays close to the input embedding and greedy
    decoding repeats one token forever; this makes its generations varied."""
    ref_models.randomise(model, seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                p.mul_(3.0)


def build_text_model(family, seed, tied, vocab_size, token_ids):
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    rope = {"rope_type": "default", "rope_theta": 1000000.0 if family == "qwen2" else 10000.0}
    common = dict(DECODER, vocab_size=vocab_size, tie_word_embeddings=tied, rope_parameters=rope, **token_ids)
    if family == "qwen2":
        config, cls = Qwen2Config(rms_norm_eps=1e-6, **common), Qwen2ForCausalLM
    else:
        config, cls = LlamaConfig(rms_norm_eps=1e-5, **common), LlamaForCausalLM
    torch.manual_seed(seed)
    model = cls._from_config(config, attn_implementation="eager", dtype=torch.float32)
    randomise(model, seed)
    model.eval()
    shared = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert shared == tied
    return model


def write_qwen_tokenizer(directory, chat_template):
    with gzip.open(DATA / "tokenizers" / "qwen" / "tokenizer.json.gz", "rb") as f:
        (directory / "tokenizer.json").write_bytes(f.read())
    config = json.loads((DATA / "tokenizers" / "qwen" / "tokenizer_config.json").read_text())
    config["chat_template"] = chat_template
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def write_llama_tokenizer(directory):
    shutil.copy(DATA / "tokenizers" / "llama2" / "tokenizer.json", directory / "tokenizer.json")
    config = json.loads((DATA / "tokenizers" / "llama2" / "tokenizer_config.json").read_text())
    config["chat_template"] = LLAMA2_TEMPLATE
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def set_eos(model, directory, eos):
    model.generation_config.eos_token_id = eos
    model.generation_config.save_pretrained(directory)


def make_images(out):
    (out / "images").mkdir(parents=True, exist_ok=True)
    Image.fromarray(ref_models.textured(64, 48, 5)).save(out / "images" / "cat_64x48.png")
    y, x = np.mgrid[0:60, 0:90]
    stripes = np.stack([(x // 6 % 2) * 255, (y // 5 % 2) * 200, (x + y) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(stripes).save(out / "images" / "stripes_90x60.png")


class Judge:
    """One model with what renders and tokenizes its prompts (text judges: tokenizer; vision: processor)."""

    def __init__(self, name, model, tokenizer, processor=None):
        self.name, self.model, self.tokenizer, self.processor = name, model, tokenizer, processor

    def messages(self, system, user, image):
        content = user if image is None else [{"type": "image"}, {"type": "text", "text": user}]
        return [{"role": "system", "content": system}, {"role": "user", "content": content}]

    def render(self, system, user, image):
        owner = self.processor or self.tokenizer
        return owner.apply_chat_template(self.messages(system, user, image), tokenize=False,
                                         add_generation_prompt=True)

    def tokenizer_kwargs(self):
        return {}

    def inputs(self, text, image, out):
        """The model inputs for `text` (+ image): input_ids [1, S] and, for vision, pixels and grid."""
        if self.processor is None:
            ids = self.tokenizer.encode(text, add_special_tokens=False)
            return {"input_ids": torch.tensor([ids])}
        from transformers.image_utils import load_image
        images = [load_image(str(out / image))] if image else None
        return dict(self.processor(text=[text], images=images, return_tensors="pt", **self.tokenizer_kwargs()))


class LlavaJudge(Judge):
    """llava-hf's template reads list contents only, has no default system text (an empty one is left out)
    and no BOS: the BOS goes in as text, so prompts tokenize without special tokens as the others."""

    def messages(self, system, user, image):
        user_turn = {"role": "user", "content": ([{"type": "image"}] if image else []) + [{"type": "text", "text": user}]}
        return ([{"role": "system", "content": [{"type": "text", "text": system}]}] if system else []) + [user_turn]

    def render(self, system, user, image):
        return self.tokenizer.bos_token + super().render(system, user, image)

    def tokenizer_kwargs(self):
        return {"add_special_tokens": False}


def choice_logprobs(judge, out, system, user, image, choices):
    prompt = judge.render(system, user, image)
    base = judge.inputs(prompt, image, out)
    prompt_ids = base["input_ids"][0].tolist()
    result = {"model": judge.name, "system": system, "user": user, "image": image, "prompt_text": prompt,
              "prompt_ids": prompt_ids, "choices": choices, "choice_ids": [], "logprobs": []}
    for choice in choices:
        inputs = judge.inputs(prompt + choice, image, out)
        ids = inputs["input_ids"][0].tolist()
        assert ids[:len(prompt_ids)] == prompt_ids, (judge.name, choice)
        keep = len(ids) - len(prompt_ids) + 1  # logits of positions len(prompt)-1 .. len(ids)-1
        with torch.no_grad():
            logits = judge.model(**inputs, logits_to_keep=keep).logits[0]
        logprobs = torch.log_softmax(logits.double(), dim=-1)  # row r predicts token len(prompt) + r
        total = sum(float(logprobs[r, ids[len(prompt_ids) + r]]) for r in range(keep - 1))
        result["choice_ids"].append(ids[len(prompt_ids):])
        result["logprobs"].append(total)
    return result


def greedy(judge, out, system, user, image, max_new_tokens, eos):
    prompt = judge.render(system, user, image)
    inputs = judge.inputs(prompt, image, out)
    prompt_len = inputs["input_ids"].shape[1]
    with torch.no_grad():
        sequence = judge.model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens,
                                        eos_token_id=eos, pad_token_id=eos[0], repetition_penalty=1.0,
                                        top_k=None, top_p=None, temperature=None)[0]
    ids = sequence[prompt_len:].tolist()
    stopped = bool(ids) and ids[-1] in eos
    text = judge.tokenizer.decode(ids[:-1] if stopped else ids, skip_special_tokens=True)
    return {"model": judge.name, "system": system, "user": user, "image": image, "max_new_tokens": max_new_tokens,
            "prompt_ids": inputs["input_ids"][0].tolist(), "ids": ids,
            "finish_reason": "stop" if stopped else "length", "text": text}


def pick_stop_token(judge, out, base_eos):
    """A token greedy decoding emits 4th for GENERATIONS[0] and not before (the extra stop id)."""
    system, user, _ = GENERATIONS[0]
    ids = greedy(judge, out, system, user, None, 6, base_eos)["ids"]
    for step in range(3, len(ids)):
        if ids[step] not in ids[:step] and ids[step] not in base_eos:
            return ids[step]
    raise AssertionError(f"{judge.name}: no fresh token in {ids}")


def lm_cases(judge, out):
    cases = []
    for i, text in enumerate(LM_TEXTS):
        ids = judge.tokenizer.encode(text, add_special_tokens=True)
        with torch.no_grad():
            logits = judge.model(input_ids=torch.tensor([ids])).logits[0].float().contiguous()
        file = f"lm/{judge.name}_{i}.safetensors"
        save_file({"input_ids": torch.tensor(ids, dtype=torch.long), "logits": logits}, out / file)
        cases.append({"model": judge.name, "file": file, "text": text, "seq_len": len(ids),
                      "logit_std": float(logits.std())})
    return cases


def vision_processor(directory):
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLProcessor

    class ImageOnlyProcessor(Qwen2_5_VLProcessor):  # no video processor (torchvision absent), as ref_models
        def check_argument_for_proper_class(self, name, arg):
            return None if arg is None else super().check_argument_for_proper_class(name, arg)

    return ImageOnlyProcessor(image_processor=AutoImageProcessor.from_pretrained(directory, backend="pil"),
                              tokenizer=AutoTokenizer.from_pretrained(directory),
                              chat_template=ref_models.CHAT_TEMPLATE)


def llava_judge(out):
    """The tiny LLaVA-1.5 judge, saved with its tokenizer and processor files."""
    import ref_models_llava
    from transformers import AutoTokenizer, CLIPImageProcessorPil, LlavaProcessor
    directory = out / "models" / "llava"
    ref_models_llava.write_tokenizer_dir(directory)
    model = ref_models_llava.build_model("a", 24)
    processor = LlavaProcessor(image_processor=CLIPImageProcessorPil.from_pretrained(directory),
                               tokenizer=AutoTokenizer.from_pretrained(directory),
                               chat_template=ref_models_llava.CHAT_TEMPLATE, patch_size=14,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1)
    return LlavaJudge("llava", model, processor.tokenizer, processor)


def swap_in(staging, final):
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old)


def main():
    from transformers import AutoTokenizer
    final = Path(sys.argv[1])
    # Built beside OUT_DIR and swapped in at the end: tests of other areas that read the judge models
    # while this fixture reruns see the old or the new directory, never a half-written one.
    out = final.with_name(final.name + ".tmp")
    if out.exists():
        shutil.rmtree(out)
    for sub in ["models/qwen2", "models/llama", "lm"]:
        (out / sub).mkdir(parents=True)
    torch.set_num_threads(2)
    make_images(out)

    qwen_ids = dict(bos_token_id=151643, eos_token_id=151645, pad_token_id=151643)
    qwen = build_text_model("qwen2", 21, True, 151936, qwen_ids)
    write_qwen_tokenizer(out / "models" / "qwen2", QWEN2_5_TEMPLATE)
    llama = build_text_model("llama", 22, False, 32000, dict(bos_token_id=1, eos_token_id=2))
    write_llama_tokenizer(out / "models" / "llama")
    vl = ref_models.build_model(True, 23)
    ref_models.write_tokenizer_dir(out / "models" / "qwen_vl")

    judges = {"qwen2": Judge("qwen2", qwen, AutoTokenizer.from_pretrained(out / "models" / "qwen2")),
              "llama": Judge("llama", llama, AutoTokenizer.from_pretrained(out / "models" / "llama"))}
    judges["qwen_vl"] = Judge("qwen_vl", vl, AutoTokenizer.from_pretrained(out / "models" / "qwen_vl"),
                              vision_processor(out / "models" / "qwen_vl"))
    judges["llava"] = llava_judge(out)
    base_eos = {"qwen2": [151645, 151643], "llama": [2], "qwen_vl": [151645, 151643], "llava": [2]}
    vision = ("qwen_vl", "llava")
    eos = {}
    for name, judge in judges.items():
        eos[name] = base_eos[name] + ([pick_stop_token(judge, out, base_eos[name])] if name not in vision else [])
        judge.model.save_pretrained(out / "models" / name)  # keeps the tokenizer files written above
        set_eos(judge.model, out / "models" / name, eos[name])

    family = {"qwen2": "qwen2", "llama": "llama", "qwen_vl": "qwen2_5_vl", "llava": "llava"}
    manifest = {"models": {name: {"dir": f"models/{name}", "family": family[name],
                                  "tied": name in ("qwen2", "qwen_vl"), "eos_token_ids": eos[name],
                                  "vision": name in vision}
                           for name in judges},
                "lm_cases": [], "judge_cases": [], "generations": []}
    for name in ["qwen2", "llama"]:
        judge = judges[name]
        manifest["lm_cases"] += lm_cases(judge, out)
        for system, user, choices in JUDGE_TEXT:
            manifest["judge_cases"].append(choice_logprobs(judge, out, system, user, None, choices))
        for system, user, max_new in GENERATIONS:
            manifest["generations"].append(greedy(judge, out, system, user, None, max_new, eos[name]))
    for name in vision:
        for system, user, choices, image in JUDGE_VISION:
            manifest["judge_cases"].append(choice_logprobs(judges[name], out, system, user, image, choices))
        manifest["generations"].append(greedy(judges[name], out, *JUDGE_VISION[0][:2], JUDGE_VISION[0][3], 8,
                                              eos[name]))
    # LLaVA without a system message (the template's own form, the captioning prompt's).
    manifest["judge_cases"].append(choice_logprobs(judges["llava"], out, "", JUDGE_VISION[0][1],
                                                   JUDGE_VISION[0][3], YES_NO))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    swap_in(out, final)
    for g in manifest["generations"]:
        print(f"{g['model']}: {g['finish_reason']} after {len(g['ids'])} tokens: {g['text']!r}")


if __name__ == "__main__":
    main()
