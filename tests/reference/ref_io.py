"""Reference files for balcap's io area (safetensors + HF configs), made with the python libraries.

    python tests/reference/ref_io.py OUT_DIR      writes the references below into OUT_DIR
    python tests/reference/ref_io.py --digest P   prints a JSON digest of the safetensors at P (a file or
                                                  a model directory), loaded with safetensors.torch and,
                                                  for a directory with config.json, with transformers

OUT_DIR:
  dtypes.safetensors + dtypes.json   one tensor per dtype (safetensors.torch.save_file) and its expected
                                     dtype, shape, raw bytes (hex) and values
  sharded/                           a tiny Qwen2ForCausalLM saved with save_pretrained(max_shard_size=...)
  sharded.json                       expected dtype/shape/bytes of every weight
  shard_plan.json                    huggingface_hub's split of that state dict at 3000 bytes per shard
  configs/<case>/config.json         configs written by transformers (v5 layout) or by hand (v4 layouts)
  configs.json                       the values transformers parses from each case's config (and from the
                                     committed hub copies in tests/data/io/hub)
  generation.json                    the same for generation_config.json files
Deterministic, offline, a few seconds.
"""
import json
import os
import shutil
import sys
import warnings

import torch
from safetensors.torch import load_file, save_file

warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
HUB_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "io", "hub")


def tensor_entry(t):
    flat = t.detach().contiguous().reshape(-1)
    raw = flat.view(torch.uint8) if flat.numel() else torch.empty(0, dtype=torch.uint8)
    entry = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "hex": raw.numpy().tobytes().hex()}
    if t.is_floating_point():
        values = flat.double()
        if torch.isfinite(values).all():
            entry["values"] = values.tolist()
    else:
        entry["values"] = flat.long().tolist()
    return entry


def write_dtypes(out):
    g = torch.Generator().manual_seed(0)
    tensors = {
        "f32.matrix": torch.randn(3, 5, generator=g),
        "f64.vector": torch.randn(7, generator=g, dtype=torch.float64),
        "f16.cube": torch.randn(2, 3, 4, generator=g).half(),
        "bf16.matrix": torch.randn(4, 3, generator=g).bfloat16(),
        "i64.big": torch.tensor([0, -1, 2**62 + 1, -(2**62), 123456789012345], dtype=torch.int64),
        "i32.vector": torch.tensor([-(2**31), 2**31 - 1, 0, 7], dtype=torch.int32),
        "i16.vector": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        "i8.vector": torch.tensor([-128, 127, 0], dtype=torch.int8),
        "u8.image": torch.arange(0, 255, 17, dtype=torch.uint8).reshape(3, 5),
        "bool.mask": torch.tensor([[True, False, True], [False, False, True]]),
        "f32.scalar": torch.tensor(3.25),
        "f32.empty": torch.zeros(0, 4),
        "f32.special": torch.tensor([float("inf"), float("-inf"), float("nan"), -0.0, 1e-45]),
    }
    save_file(tensors, os.path.join(out, "dtypes.safetensors"), metadata={"source": "ref_io", "format": "pt"})
    expected = {"metadata": {"source": "ref_io", "format": "pt"}, "tensors": {k: tensor_entry(v) for k, v in tensors.items()}}
    json.dump(expected, open(os.path.join(out, "dtypes.json"), "w"))


def write_sharded(out):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=96, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape))
    model = model.to(torch.bfloat16)
    target = os.path.join(out, "sharded")
    model.save_pretrained(target, max_shard_size="4KB")
    sd = model.state_dict()
    json.dump({k: tensor_entry(v) for k, v in sd.items()}, open(os.path.join(out, "sharded.json"), "w"))
    # How huggingface_hub (used by save_pretrained) splits this state dict, in this order, at 3000 bytes.
    from huggingface_hub import split_torch_state_dict_into_shards
    split = split_torch_state_dict_into_shards(sd, max_shard_size=3000)
    json.dump({"order": list(sd.keys()), "max_shard_size": 3000, "weight_map": split.tensor_to_filename,
               "total_size": split.metadata["total_size"]}, open(os.path.join(out, "shard_plan.json"), "w"))


def text_fields(t, head_dim, qkv_bias, o_bias, mlp_bias, tie):
    rope = t.rope_parameters
    eos = t.eos_token_id
    return {
        "vocab_size": t.vocab_size, "hidden_size": t.hidden_size, "intermediate_size": t.intermediate_size,
        "num_hidden_layers": t.num_hidden_layers, "num_attention_heads": t.num_attention_heads,
        "num_key_value_heads": t.num_key_value_heads, "head_dim": head_dim,
        "max_position_embeddings": t.max_position_embeddings, "rms_norm_eps": t.rms_norm_eps,
        "rope_theta": rope["rope_theta"], "rope_type": rope["rope_type"], "mrope_section": rope.get("mrope_section", []),
        "hidden_act": t.hidden_act, "tie_word_embeddings": tie, "qkv_bias": qkv_bias, "o_proj_bias": o_bias,
        "mlp_bias": mlp_bias, "bos_token_id": t.bos_token_id,
        "eos_token_ids": [] if eos is None else ([eos] if isinstance(eos, int) else list(eos)),
        "pad_token_id": t.pad_token_id,
    }


def qwen_vl_fields(c):
    t, v = c.text_config, c.vision_config
    return {
        "family": "qwen2_5_vl",
        "text": text_fields(t, t.hidden_size // t.num_attention_heads, True, False, False, c.tie_word_embeddings),
        "vision": {k: getattr(v, k) for k in ("depth", "hidden_size", "intermediate_size", "num_heads", "in_channels",
                                              "patch_size", "temporal_patch_size", "spatial_merge_size", "window_size",
                                              "out_hidden_size", "tokens_per_second", "hidden_act")}
        | {"fullatt_block_indexes": list(v.fullatt_block_indexes)},
        "image_token_id": c.image_token_id, "video_token_id": c.video_token_id,
        "vision_start_token_id": c.vision_start_token_id, "vision_end_token_id": c.vision_end_token_id,
        "tie_word_embeddings": c.tie_word_embeddings,
    }


def llama_fields(t, tie):
    return text_fields(t, t.head_dim, t.attention_bias, t.attention_bias, t.mlp_bias, tie)


def llava_fields(c):
    v = c.vision_config
    layer = c.vision_feature_layer
    return {
        "family": "llava",
        "text": llama_fields(c.text_config, c.tie_word_embeddings),
        "vision": {k: getattr(v, k) for k in ("hidden_size", "intermediate_size", "projection_dim", "num_hidden_layers",
                                              "num_attention_heads", "num_channels", "image_size", "patch_size",
                                              "hidden_act", "layer_norm_eps")},
        "image_token_index": c.image_token_index, "image_seq_length": c.image_seq_length,
        "projector_hidden_act": c.projector_hidden_act,
        "vision_feature_select_strategy": c.vision_feature_select_strategy,
        "vision_feature_layers": [layer] if isinstance(layer, int) else list(layer),
        "multimodal_projector_bias": c.multimodal_projector_bias, "tie_word_embeddings": c.tie_word_embeddings,
        "pad_token_id": getattr(c, "pad_token_id", None),
    }


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump(obj, open(path, "w"), indent=2)


def write_configs(out):
    from transformers import AutoConfig, LlamaConfig, LlavaConfig, Qwen2_5_VLConfig, Qwen2Config

    root = os.path.join(out, "configs")
    tiny_vision = {"depth": 3, "hidden_size": 32, "intermediate_size": 48, "num_heads": 2, "out_hidden_size": 64,
                   "fullatt_block_indexes": [1, 2], "window_size": 56, "tokens_per_second": 2}
    tiny_text = {"vocab_size": 320, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "max_position_embeddings": 1024,
                 "bos_token_id": 300, "eos_token_id": 301, "pad_token_id": 302}
    cases = {}
    # transformers v5 layout, written by transformers itself.
    Qwen2_5_VLConfig(text_config=tiny_text | {"rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3],
                                                                   "rope_theta": 50000.0}, "tie_word_embeddings": True},
                     vision_config=tiny_vision, image_token_id=310, video_token_id=311, vision_start_token_id=312,
                     vision_end_token_id=313).save_pretrained(os.path.join(root, "qwen_v5"))
    # v4 hub layout: flat text fields + legacy rope_scaling {type: mrope}.
    write_json(os.path.join(root, "qwen_flat", "config.json"),
               {"model_type": "qwen2_5_vl", **tiny_text, "rope_theta": 20000.0, "tie_word_embeddings": False,
                "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}, "vision_config": tiny_vision,
                "image_token_id": 303})
    # 4.5x nested layout: text_config with rope_scaling + rope_theta, eos as a list.
    write_json(os.path.join(root, "qwen_nested_v4", "config.json"),
               {"model_type": "qwen2_5_vl", "text_config": tiny_text | {"eos_token_id": [301, 300], "rope_theta": 3e5,
                "rope_scaling": {"rope_type": "mrope", "type": "mrope", "mrope_section": [4, 2, 2]}, "tie_word_embeddings": True},
                "vision_config": {}, "tie_word_embeddings": False})
    LlavaConfig(text_config={"model_type": "llama", "vocab_size": 330, "hidden_size": 48, "intermediate_size": 80,
                             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                             "rms_norm_eps": 1e-5, "attention_bias": True, "pad_token_id": 0},
                vision_config={"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64,
                               "num_hidden_layers": 3, "num_attention_heads": 2, "image_size": 56, "patch_size": 14},
                image_token_index=320, image_seq_length=16, vision_feature_layer=-2,
                projector_hidden_act="gelu", multimodal_projector_bias=False).save_pretrained(os.path.join(root, "llava_v5"))
    write_json(os.path.join(root, "llava_defaults", "config.json"), {"model_type": "llava"})
    LlamaConfig(vocab_size=200, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                head_dim=16, mlp_bias=True, eos_token_id=[2, 7], rope_theta=500000.0, tie_word_embeddings=True
                ).save_pretrained(os.path.join(root, "llama"))
    Qwen2Config(vocab_size=200, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, eos_token_id=5).save_pretrained(os.path.join(root, "qwen2"))
    # Hand-written minimal files: every absent field takes the transformers class default
    # (Qwen2Config: 32 kv heads; Qwen2_5_VLTextConfig: the 72B sizes; Qwen2_5_VLVisionConfig's tower).
    write_json(os.path.join(root, "qwen2_defaults", "config.json"),
               {"model_type": "qwen2", "hidden_size": 128, "num_attention_heads": 64})
    write_json(os.path.join(root, "qwen_vl_defaults", "config.json"),
               {"model_type": "qwen2_5_vl", "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}})
    for name in ("qwen_v5", "qwen_flat", "qwen_nested_v4", "qwen_vl_defaults"):
        cases[name] = {"path": os.path.join(root, name)} | qwen_vl_fields(Qwen2_5_VLConfig.from_pretrained(os.path.join(root, name)))
    for name in ("llava_v5", "llava_defaults"):
        cases[name] = {"path": os.path.join(root, name)} | llava_fields(LlavaConfig.from_pretrained(os.path.join(root, name)))
    llama = LlamaConfig.from_pretrained(os.path.join(root, "llama"))
    cases["llama"] = {"path": os.path.join(root, "llama"), "family": "llama", "text": llama_fields(llama, llama.tie_word_embeddings)}
    for name in ("qwen2", "qwen2_defaults"):
        qwen2 = Qwen2Config.from_pretrained(os.path.join(root, name))
        head_dim = getattr(qwen2, "head_dim", qwen2.hidden_size // qwen2.num_attention_heads)
        cases[name] = {"path": os.path.join(root, name), "family": "qwen2",
                       "text": text_fields(qwen2, head_dim, True, False, False, qwen2.tie_word_embeddings)}
    for name in ("qwen2_5_vl_3b_instruct", "qwen2_5_vl_7b_instruct"):
        path = os.path.abspath(os.path.join(HUB_DIR, name))
        cases["hub_" + name] = {"path": path} | qwen_vl_fields(Qwen2_5_VLConfig.from_pretrained(path))
    path = os.path.abspath(os.path.join(HUB_DIR, "llava_1_5_7b_hf"))
    cases["hub_llava_1_5_7b_hf"] = {"path": path} | llava_fields(LlavaConfig.from_pretrained(path))
    for case in cases.values():
        assert AutoConfig.from_pretrained(case["path"]).model_type == case["family"]
    json.dump(cases, open(os.path.join(out, "configs.json"), "w"), indent=2)


def write_generation(out):
    from transformers import GenerationConfig

    root = os.path.join(out, "generation")
    GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0, do_sample=False, max_new_tokens=64
                     ).save_pretrained(os.path.join(root, "eos_int"))
    GenerationConfig(eos_token_id=[5, 6, 7], do_sample=True, temperature=0.7, top_p=0.9, top_k=20,
                     repetition_penalty=1.1).save_pretrained(os.path.join(root, "eos_list"))
    paths = {"eos_int": os.path.join(root, "eos_int"), "eos_list": os.path.join(root, "eos_list")}
    for name in ("qwen2_5_vl_3b_instruct", "llava_1_5_7b_hf"):
        paths["hub_" + name] = os.path.abspath(os.path.join(HUB_DIR, name))
    cases = {}
    for name, path in paths.items():
        g = GenerationConfig.from_pretrained(path)
        eos = g.eos_token_id
        cases[name] = {"path": path, "bos_token_id": g.bos_token_id, "pad_token_id": g.pad_token_id,
                       "eos_token_ids": [] if eos is None else ([eos] if isinstance(eos, int) else list(eos)),
                       **{k: getattr(g, k) for k in ("do_sample", "temperature", "top_p", "top_k", "repetition_penalty",
                                                     "max_new_tokens", "max_length")}}
    json.dump(cases, open(os.path.join(out, "generation.json"), "w"), indent=2)


def digest(path):
    """Loads what balcap wrote, with the python libraries only."""
    result = {"files": {}}
    if os.path.isdir(path):
        index = os.path.join(path, "model.safetensors.index.json")
        files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    else:
        path, files = os.path.dirname(path), [os.path.basename(path)]
    tensors = {}
    for f in files:
        from safetensors import safe_open
        with safe_open(os.path.join(path, f), "pt") as h:
            result["files"][f] = {"metadata": h.metadata(), "names": sorted(h.keys())}
        tensors.update(load_file(os.path.join(path, f)))
    result["tensors"] = {k: tensor_entry(v) for k, v in tensors.items()}
    if os.path.exists(os.path.join(path, "config.json")):
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16)
        result["transformers"] = {k: tensor_entry(v) for k, v in model.state_dict().items()}
    print(json.dumps(result))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--digest":
        digest(sys.argv[2])
        return
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    write_dtypes(out)
    write_sharded(out)
    write_configs(out)
    write_generation(out)


if __name__ == "__main__":
    main()
