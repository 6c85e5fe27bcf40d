#pragma once
// Private to src/models: The Qwen2.5-VL vision tower's attention (transformers' Qwen2_5_VLVisionAttention) and the pieces
// of it that are not modules: the 2-D rotary table, its application, and block-diagonal (per
// window / per image) attention through at::scaled_dot_product_attention.
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "io/hf_config.h"

namespace balcap::models {

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

class Qwen2_5_VLVisionAttentionImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VLVisionAttentionImpl(const io::Qwen2_5_VLVisionConfig& config);
  // x: [S, hidden]; cos, sin: [S, head_dim] -> [S, hidden]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const VisionSegments& segments);

  int64_t num_heads = 0;
  int64_t head_dim = 0;
  torch::nn::Linear qkv{nullptr};   // hidden -> 3*hidden, bias
  torch::nn::Linear proj{nullptr};  // hidden -> hidden, bias
};
TORCH_MODULE(Qwen2_5_VLVisionAttention);

}  // namespace balcap::models
