"""Runs transformers' Qwen2.5-VL vision tower on weights and inputs written by the C++ test.

usage: models_vision_check.py CONFIG.json WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors

CONFIG.json: Qwen2_5_VLVisionConfig fields. WEIGHTS: the tower's state dict under the HF names
(loaded strictly: a missing, unexpected or mis-shaped name fails). INPUTS: pixel_values_{i},
grid_thw_{i} for each case i. OUT: for each case, the tower output (`output_{i}`, pooler_output:
merged tokens in processor order) and transformers' own bookkeeping (`window_index_{i}`,
`cu_window_seqlens_{i}`, `cu_seqlens_{i}`, `position_ids_{i}`) so a mismatch points at the part.
Deterministic, offline, CPU, float32.
"""

import json
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import vision_utils
from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLVisionConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel


def main(config_path, weights_path, inputs_path, out_path):
    torch.manual_seed(0)
    with open(config_path) as f:
        config = Qwen2_5_VLVisionConfig(**json.load(f))
    model = Qwen2_5_VisionTransformerPretrainedModel(config).float().eval()
    model.load_state_dict(load_file(weights_path), strict=True)

    inputs = load_file(inputs_path)
    out = {}
    cases = sorted(int(k.split("_")[-1]) for k in inputs if k.startswith("grid_thw_"))
    for i in cases:
        pixels, grid = inputs[f"pixel_values_{i}"].float(), inputs[f"grid_thw_{i}"].long()
        with torch.no_grad():
            result = model(hidden_states=pixels, grid_thw=grid)
        out[f"output_{i}"] = result.pooler_output.contiguous()
        window_index, cu_window = vision_utils.get_vision_window_index(
            grid, config.spatial_merge_size, config.window_size, config.patch_size
        )
        out[f"window_index_{i}"] = window_index.long().contiguous()
        out[f"cu_window_seqlens_{i}"] = cu_window.long().contiguous()
        out[f"cu_seqlens_{i}"] = vision_utils.get_vision_cu_seqlens(grid).long().contiguous()
        positions = vision_utils.get_vision_position_ids(grid, config.spatial_merge_size)
        out[f"position_ids_{i}"] = positions.long().contiguous()
    save_file(out, out_path)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
