#pragma once
// Private to src/models: Rotary position embeddings of the text decoders (transformers' "default" rope type):
//   inv_freq[i] = 1 / theta^(2i / head_dim), i < head_dim/2 (float32)
//   angle = position * inv_freq (float32), emb = cat(angle, angle), cos/sin cast to the activation dtype
//   q' = q * cos + rotate_half(q) * sin,  rotate_half(x) = cat(-x[D/2:], x[:D/2])
// Qwen2.5-VL's multimodal RoPE (M-RoPE) takes [3, B, S] positions (temporal, height, width) and picks,
// per frequency chunk of `mrope_section` (repeated: [t, h, w, t, h, w] over the head_dim), the axis
// chunk_index % 3 -- exactly Qwen2_5_VLRotaryEmbedding + apply_multimodal_rotary_pos_emb.
#include <ATen/ATen.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace balcap::models {

// [head_dim / 2] float32 on CPU. head_dim must be even and > 0, theta > 0 (else balcap::Error).
at::Tensor rope_inv_freq(int64_t head_dim, double theta);

// Throws balcap::Error unless `mrope_section` has 3 positive entries summing to head_dim / 2.
void check_mrope_section(const std::vector<int64_t>& mrope_section, int64_t head_dim);

// position_ids: [B, S] int64 -> cos, sin: [B, S, head_dim] in `dtype` (computed in float32).
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& position_ids, const at::Tensor& inv_freq,
                                               at::ScalarType dtype);

// position_ids: [3, B, S] int64 (or [B, S]: the same positions on every axis, as HF expands them)
// -> cos, sin: [B, S, head_dim] in `dtype`, already interleaved per mrope_section.
std::pair<at::Tensor, at::Tensor> mrope_cos_sin(const at::Tensor& position_ids, const at::Tensor& inv_freq,
                                                const std::vector<int64_t>& mrope_section, at::ScalarType dtype);

// x: [B, H, S, D]; cos, sin: [B, S, D] (broadcast over heads) -> [B, H, S, D] in x's dtype.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// rotate_half(x) = cat(-x[..., D/2:], x[..., :D/2]).
at::Tensor rotate_half(const at::Tensor& x);

}  // namespace balcap::models
