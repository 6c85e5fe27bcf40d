// The vision attention module, and the pieces of it that are not modules: the 2-D rotary table,
// its application, and block-diagonal (per window / per image) attention through
// at::scaled_dot_product_attention.
#include "models/qwen2_5_vl_vision_attention.h"

#include <map>
#include <numeric>

namespace balcap::models {

namespace {

at::Tensor long_tensor(const std::vector<int64_t>& values, const at::Device& device) {
  return at::tensor(values, at::TensorOptions().dtype(at::kLong)).to(device);
}

}  // namespace

VisionSegments make_vision_segments(const std::vector<int64_t>& cu_seqlens, const at::Device& device) {
  // Segments grouped by length, in order of first appearance; `order` lists the rows in the order
  // the groups' outputs will be concatenated.
  std::map<int64_t, std::vector<int64_t>> starts_by_length;
  std::vector<int64_t> lengths_in_order;
  for (size_t i = 0; i + 1 < cu_seqlens.size(); ++i) {
    const int64_t length = cu_seqlens[i + 1] - cu_seqlens[i];
    TORCH_INTERNAL_ASSERT(length > 0, "empty attention segment");
    auto& starts = starts_by_length[length];
    if (starts.empty()) lengths_in_order.push_back(length);
    starts.push_back(cu_seqlens[i]);
  }
  VisionSegments out;
  std::vector<int64_t> order;
  for (const int64_t length : lengths_in_order) {
    const auto& starts = starts_by_length[length];
    std::vector<int64_t> rows;
    rows.reserve(starts.size() * static_cast<size_t>(length));
    for (const int64_t start : starts) {
      for (int64_t r = 0; r < length; ++r) rows.push_back(start + r);
    }
    order.insert(order.end(), rows.begin(), rows.end());
    out.groups.push_back({length, static_cast<int64_t>(starts.size()), long_tensor(rows, device)});
  }
  std::vector<int64_t> inverse(order.size());
  bool identity = true;
  for (size_t j = 0; j < order.size(); ++j) {
    inverse[static_cast<size_t>(order[j])] = static_cast<int64_t>(j);
    identity = identity && order[j] == static_cast<int64_t>(j);
  }
  if (!identity) out.inverse = long_tensor(inverse, device);
  return out;
}

at::Tensor segmented_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const VisionSegments& segments) {
  const int64_t heads = q.size(1);
  const int64_t head_dim = q.size(2);
  // With one group in row order the rows need no gathering.
  const bool gather = segments.groups.size() > 1 || segments.inverse.defined();
  std::vector<at::Tensor> outputs;
  for (const auto& group : segments.groups) {
    // [count*length, H, D] -> [count, H, length, D]: one batch entry per segment.
    const auto batch = [&](const at::Tensor& x) {
      const at::Tensor rows = gather ? x.index_select(0, group.rows) : x;
      return rows.view({group.count, group.length, heads, head_dim}).transpose(1, 2);
    };
    const at::Tensor o = at::scaled_dot_product_attention(batch(q), batch(k), batch(v));
    outputs.push_back(o.transpose(1, 2).reshape({group.count * group.length, heads, head_dim}));
  }
  at::Tensor out = outputs.size() == 1 ? outputs[0] : at::cat(outputs, 0);
  return segments.inverse.defined() ? out.index_select(0, segments.inverse) : out;
}

std::pair<at::Tensor, at::Tensor> qwen2_5_vl_vision_cos_sin(const std::vector<int64_t>& position_ids, int64_t head_dim,
                                                            double theta, const at::Device& device) {
  // HF compute_axial_rope_parameters: spatial_dim = head_dim / 2, inv_freq [head_dim / 4] in float32.
  const int64_t spatial_dim = head_dim / 2;
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  const at::Tensor inv_freq = at::reciprocal(at::pow(theta, at::arange(0, spatial_dim, 2, f32) / spatial_dim));
  const int64_t n = static_cast<int64_t>(position_ids.size() / 2);
  const at::Tensor pos = long_tensor(position_ids, device).view({n, 2}).to(at::kFloat);
  const at::Tensor freqs = pos.unsqueeze(-1) * inv_freq;  // [N, 2, head_dim/4]
  // [row freqs | col freqs] twice -> [N, head_dim], the rotate_half layout.
  const at::Tensor half = at::cat({freqs.select(1, 0), freqs.select(1, 1)}, -1);
  const at::Tensor angles = at::cat({half, half}, -1);
  return {angles.cos(), angles.sin()};
}

at::Tensor apply_vision_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const at::Tensor xf = x.to(at::kFloat);
  const int64_t half = xf.size(-1) / 2;
  const at::Tensor rotated = at::cat({-xf.narrow(-1, half, half), xf.narrow(-1, 0, half)}, -1);
  // cos, sin: [S, D] -> [S, 1, D], shared by the heads.
  return (xf * cos.unsqueeze(-2) + rotated * sin.unsqueeze(-2)).to(x.scalar_type());
}

Qwen2_5_VLVisionAttentionImpl::Qwen2_5_VLVisionAttentionImpl(const io::Qwen2_5_VLVisionConfig& c)
    : num_heads(c.num_heads), head_dim(c.hidden_size / c.num_heads) {
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, 3 * c.hidden_size)));
  proj = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.hidden_size)));
}

at::Tensor Qwen2_5_VLVisionAttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                                  const VisionSegments& segments) {
  const int64_t seq = x.size(0);
  const at::Tensor packed = qkv(x).view({seq, 3, num_heads, head_dim});  // [S, 3, H, D]
  const at::Tensor q = apply_vision_rotary(packed.select(1, 0), cos, sin);
  const at::Tensor k = apply_vision_rotary(packed.select(1, 1), cos, sin);
  const at::Tensor v = packed.select(1, 2);
  const at::Tensor attended = segmented_attention(q, k, v, segments);  // [S, H, D]
  return proj(attended.reshape({seq, num_heads * head_dim}));
}

}  // namespace balcap::models
