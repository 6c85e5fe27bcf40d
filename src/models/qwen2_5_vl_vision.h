#pragma once
// The Qwen2.5-VL vision tower (transformers' Qwen2_5_VisionTransformerPretrainedModel):
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
#include "models/rms_norm.h"

namespace balcap {

// Block-diagonal attention plan for a packed sequence cut at `cu_seqlens` (in rows). Segments of
// equal length are batched into one SDPA call each, so a 448 px image (49 windows, most of
// length 64) costs a handful of kernels per layer rather than one per window.
struct VisionSegments {
  struct Group {
    int64_t length = 0;  // rows per segment
    int64_t count = 0;   // segments of this length
    at::Tensor rows;     // [count*length] int64: the rows of these segments, segment after segment
  };
  std::vector<Group> groups;
  // [S] int64: row r of the output is row inverse[r] of the groups' outputs concatenated;
  // undefined when that concatenation is already in row order (e.g. one segment).
  at::Tensor inverse;
};
VisionSegments make_vision_segments(const std::vector<int64_t>& cu_seqlens, const at::Device& device);

// softmax(q k^T / sqrt(D)) v within each segment. q, k, v: [S, H, D] -> [S, H, D].
at::Tensor segmented_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const VisionSegments& segments);

// The 2-D rotary table of HF's Qwen2_5_VLVisionRotaryEmbedding (axial, theta 10000):
// inv_freq over head_dim/4 frequencies; angle = [row * inv_freq, col * inv_freq] repeated twice.
// position_ids: N (row, col) pairs flattened [N*2]. Returns cos, sin [N, head_dim] float32.
std::pair<at::Tensor, at::Tensor> qwen2_5_vl_vision_cos_sin(const std::vector<int64_t>& position_ids, int64_t head_dim,
                                                            double theta, const at::Device& device);

// x * cos + rotate_half(x) * sin computed in float32, cast back to x's dtype (as HF).
// x: [S, H, D]; cos, sin: [S, D].
at::Tensor apply_vision_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// Conv3d(in_channels, hidden, kernel = stride = (temporal, patch, patch), no bias) over rows that
// each hold exactly one kernel's worth of pixels.
class Qwen2_5_VisionPatchEmbedImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VisionPatchEmbedImpl(const Qwen2_5_VLVisionConfig& config);
  // pixel_values: [N, in_channels*temporal*patch*patch] -> [N, hidden] in proj's dtype.
  at::Tensor forward(const at::Tensor& pixel_values);

  int64_t hidden_size = 0;
  int64_t row_size = 0;  // in_channels * temporal_patch_size * patch_size^2
  torch::nn::Conv3d proj{nullptr};
};
TORCH_MODULE(Qwen2_5_VisionPatchEmbed);

class Qwen2_5_VLVisionAttentionImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VLVisionAttentionImpl(const Qwen2_5_VLVisionConfig& config);
  // x: [S, hidden]; cos, sin: [S, head_dim] -> [S, hidden]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const VisionSegments& segments);

  int64_t num_heads = 0;
  int64_t head_dim = 0;
  torch::nn::Linear qkv{nullptr};   // hidden -> 3*hidden, bias
  torch::nn::Linear proj{nullptr};  // hidden -> hidden, bias
};
TORCH_MODULE(Qwen2_5_VLVisionAttention);

// Pre-norm residual block: x += attn(norm1(x)); x += mlp(norm2(x)).
class Qwen2_5_VLVisionBlockImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VLVisionBlockImpl(const Qwen2_5_VLVisionConfig& config);
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
  explicit Qwen2_5_VLPatchMergerImpl(const Qwen2_5_VLVisionConfig& config);
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
  explicit Qwen2_5_VisionTransformerImpl(const Qwen2_5_VLVisionConfig& config);

  // pixel_values: [N, in_channels*temporal*patch*patch] (any float dtype; cast to the weights'),
  // grid_thw: [n_images, 3] integer (t, h, w in patches; N == sum t*h*w)
  // -> [N / merge^2, out_hidden_size], one row per LM image token in processor order.
  at::Tensor forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw);

  Qwen2_5_VLVisionConfig config;
  Qwen2_5_VisionPatchEmbed patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  Qwen2_5_VLPatchMerger merger{nullptr};
};
TORCH_MODULE(Qwen2_5_VisionTransformer);

}  // namespace balcap
