#pragma once
// Private to src/models: The Qwen2.5-VL vision tower (transformers' Qwen2_5_VisionTransformerPretrainedModel):
//   pixel rows [N, 3*2*14*14] -> patch_embed -> window order -> depth x VisionBlock (window
//   attention, full attention at fullatt_block_indexes) -> PatchMerger (2x2 patches -> one LM
//   token) -> processor order [N/4, out_hidden_size].
// Submodules carry the HF names, so named_parameters() gives the checkpoint keys under
// `model.visual.` (v5) / `visual.` (v4): patch_embed.proj.weight, blocks.{i}.norm1.weight,
// blocks.{i}.attn.qkv.{weight,bias}, blocks.{i}.attn.proj.{weight,bias},
// blocks.{i}.mlp.{gate,up,down}_proj.{weight,bias}, merger.ln_q.weight, merger.mlp.{0,2}.{weight,bias}.
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "io/hf_config.h"
#include "models/mlp.h"
#include "models/qwen2_5_vl_vision_attention.h"
#include "models/rms_norm.h"

namespace balcap::models {

// Conv3d(in_channels, hidden, kernel = stride = (temporal, patch, patch), no bias) over rows that
// each hold exactly one kernel's worth of pixels.
class Qwen2_5_VisionPatchEmbedImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VisionPatchEmbedImpl(const io::Qwen2_5_VLVisionConfig& config);
  // pixel_values: [N, in_channels*temporal*patch*patch] -> [N, hidden] in proj's dtype.
  at::Tensor forward(const at::Tensor& pixel_values);

  int64_t hidden_size = 0;
  int64_t row_size = 0;  // in_channels * temporal_patch_size * patch_size^2
  torch::nn::Conv3d proj{nullptr};
};
TORCH_MODULE(Qwen2_5_VisionPatchEmbed);

// Pre-norm residual block: x += attn(norm1(x)); x += mlp(norm2(x)).
class Qwen2_5_VLVisionBlockImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VLVisionBlockImpl(const io::Qwen2_5_VLVisionConfig& config);
  // x: [S, hidden] -> [S, hidden]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const VisionSegments& segments);

  RMSNorm norm1{nullptr};
  RMSNorm norm2{nullptr};
  Qwen2_5_VLVisionAttention attn{nullptr};
  SwiGluMlp mlp{nullptr};
};
TORCH_MODULE(Qwen2_5_VLVisionBlock);

// ln_q (RMSNorm over hidden), then each merge^2 consecutive rows concatenated -> Linear -> GELU
// (erf) -> Linear to the LM width.
class Qwen2_5_VLPatchMergerImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VLPatchMergerImpl(const io::Qwen2_5_VLVisionConfig& config);
  // x: [S, hidden] -> [S / merge^2, out_hidden_size]
  at::Tensor forward(const at::Tensor& x);

  int64_t merged_size = 0;  // hidden * merge^2
  RMSNorm ln_q{nullptr};
  torch::nn::Sequential mlp{nullptr};  // "0": Linear, "1": GELU, "2": Linear
};
TORCH_MODULE(Qwen2_5_VLPatchMerger);

class Qwen2_5_VisionTransformerImpl : public torch::nn::Module {
 public:
  // Bad sizes (non-positive, head_dim not a multiple of 4, a window smaller than one merged token)
  // -> balcap::Error naming the vision_config keys. hidden_act must be "silu" (SwiGluMlp checks).
  explicit Qwen2_5_VisionTransformerImpl(const io::Qwen2_5_VLVisionConfig& config);

  // pixel_values: [N, in_channels*temporal*patch*patch] (any float dtype; cast to the weights'),
  // grid_thw: [n_images, 3] integer (t, h, w in patches; N == sum t*h*w)
  // -> [N / merge^2, out_hidden_size], one row per LM image token in processor order.
  at::Tensor forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw);

  io::Qwen2_5_VLVisionConfig config;
  Qwen2_5_VisionPatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  Qwen2_5_VLPatchMerger merger{nullptr};
};
TORCH_MODULE(Qwen2_5_VisionTransformer);

}  // namespace balcap::models
