"""Layer-level transformers reference for balcap's text decoder pieces (called by the models tests).

Usage: python tests/reference/models_lm_check.py DIR [DIR...]   (one python start for many checks)

DIR/config.json names the check ("mode") and the sizes; DIR/inputs.safetensors holds the weights the
C++ test generated ("w.<transformers name>") and the inputs. Writes DIR/outputs.safetensors:
  mode "qwen2_5_vl_text" / "llama": hidden [B, S, E] = last_hidden_state of Qwen2_5_VLTextModel /
      LlamaModel (eager attention, float32) for input_ids, position_ids (and attention_mask if given);
      cos, sin [B, S, D] from the model's rotary embedding (all saved as float32). "dtype": "bf16" runs
      the model in bfloat16 and also writes hidden_f32, the float32 model's output (the yardstick for
      how far bfloat16 rounding alone moves the result).
  mode "rope_index": position_ids [3, B, S], rope_deltas [B, 1] from Qwen2_5_VLModel.get_rope_index
      (mm_token_type_ids = 1 where input_ids == image_token_id, as the processor builds it).
The weights are loaded with strict=True, so a parameter name that differs from transformers' fails.
"""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
from safetensors.torch import load_file, save_file


def text_config(cfg):
    common = dict(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        num_key_value_heads=cfg["num_key_value_heads"],
        rms_norm_eps=cfg["rms_norm_eps"],
        max_position_embeddings=4096,
    )
    rope = {"rope_type": "default", "rope_theta": cfg["rope_theta"]}
    if cfg["mode"] == "qwen2_5_vl_text":
        from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLTextConfig

        rope["mrope_section"] = cfg["mrope_section"]
        config = Qwen2_5_VLTextConfig(rope_parameters=rope, **common)
    else:
        from transformers import LlamaConfig

        config = LlamaConfig(rope_parameters=rope, attention_bias=cfg["attention_bias"],
                             mlp_bias=cfg["mlp_bias"], **common)
    config._attn_implementation = "eager"
    return config


def run_decoder(cfg, inputs):
    config = text_config(cfg)
    if cfg["mode"] == "qwen2_5_vl_text":
        from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLTextModel as Model
    else:
        from transformers import LlamaModel as Model
    model = Model(config).eval()
    weights = {k[2:]: v for k, v in inputs.items() if k.startswith("w.")}
    model.load_state_dict(weights, strict=True)
    extra = {}
    if cfg.get("dtype") == "bf16":  # the float32 weights rounded to bfloat16, as the C++ side does
        with torch.no_grad():
            extra["hidden_f32"] = model(input_ids=inputs["input_ids"], position_ids=inputs["position_ids"]).last_hidden_state
        inv_freq = model.rotary_emb.inv_freq.clone()
        model = model.to(torch.bfloat16)
        # .to() would round the rotary buffer too; from_pretrained(dtype=bfloat16) keeps it float32.
        model.rotary_emb.inv_freq = inv_freq
    kwargs = {"input_ids": inputs["input_ids"], "position_ids": inputs["position_ids"]}
    if "attention_mask" in inputs:
        kwargs["attention_mask"] = inputs["attention_mask"]
    with torch.no_grad():
        hidden = model(**kwargs).last_hidden_state
        embeds = model.embed_tokens(inputs["input_ids"])
        cos, sin = model.rotary_emb(embeds, inputs["position_ids"])
    return {"hidden": hidden.float().contiguous(), "cos": cos.float().contiguous(), "sin": sin.float().contiguous(),
            **{k: v.contiguous() for k, v in extra.items()}}


def run_rope_index(cfg, inputs):
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLModel

    # get_rope_index reads only the vision merge size and tokens_per_second from its model.
    vision = SimpleNamespace(spatial_merge_size=cfg["spatial_merge_size"], tokens_per_second=2)
    owner = SimpleNamespace(config=SimpleNamespace(vision_config=vision),
                            get_vision_position_ids=lambda *a, **k: Qwen2_5_VLModel.get_vision_position_ids(None, *a, **k))
    input_ids = inputs["input_ids"]
    mm = (input_ids == cfg["image_token_id"]).int()
    position_ids, deltas = Qwen2_5_VLModel.get_rope_index(
        owner, input_ids, mm_token_type_ids=mm, image_grid_thw=inputs["image_grid_thw"],
        attention_mask=inputs["attention_mask"])
    return {"position_ids": position_ids.long().contiguous(), "rope_deltas": deltas.long().reshape(-1, 1).contiguous()}


def main():
    torch.set_num_threads(2)
    for arg in sys.argv[1:]:
        out = Path(arg)
        cfg = json.loads((out / "config.json").read_text())
        inputs = load_file(out / "inputs.safetensors")
        torch.manual_seed(0)
        result = run_rope_index(cfg, inputs) if cfg["mode"] == "rope_index" else run_decoder(cfg, inputs)
        save_file(result, out / "outputs.safetensors")


if __name__ == "__main__":
    main()
