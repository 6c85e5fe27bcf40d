#include "models/rotary.h"

#include <fmt/ranges.h>

#include <numeric>

#include "core/error.h"

namespace balcap::models {

at::Tensor rope_inv_freq(int64_t head_dim, double theta) {
  BALCAP_CHECK(
      head_dim > 0 && head_dim % 2 == 0,
      "rotary: head_dim {} must be positive and even. HINT: check head_dim / hidden_size / heads in config.json.",
      head_dim);
  BALCAP_CHECK(theta > 0, "rotary: rope_theta {} must be positive. HINT: check rope_theta in config.json.", theta);
  // As HF: base ** (arange(0, D, 2, float32) / D), the power taken in float32.
  const auto exponents = at::arange(0, head_dim, 2, at::kFloat) / static_cast<double>(head_dim);
  const auto base = at::full({}, theta, at::kFloat);
  return 1.0 / at::pow(base, exponents);
}

void check_mrope_section(const std::vector<int64_t>& mrope_section, int64_t head_dim) {
  const int64_t sum = std::accumulate(mrope_section.begin(), mrope_section.end(), int64_t{0});
  bool positive = true;
  for (int64_t s : mrope_section) positive = positive && s > 0;
  BALCAP_CHECK(mrope_section.size() == 3 && positive && sum * 2 == head_dim,
               "rotary: mrope_section [{}] must be 3 positive sizes (temporal, height, width) summing to "
               "head_dim / 2 = {}. HINT: check rope_parameters.mrope_section (or rope_scaling) in config.json.",
               fmt::join(mrope_section, ", "), head_dim / 2);
}

// angle = pos[..., None] * inv_freq in float32: [..., D/2]
static at::Tensor rope_angles(const at::Tensor& position_ids, const at::Tensor& inv_freq) {
  BALCAP_CHECK(!at::isFloatingType(position_ids.scalar_type()),
               "rotary: position ids must be integers, got {}. HINT: pass int64 positions.",
               c10::toString(position_ids.scalar_type()));
  const auto freq = inv_freq.to(position_ids.device(), at::kFloat);
  return position_ids.to(at::kFloat).unsqueeze(-1) * freq;
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& position_ids, const at::Tensor& inv_freq,
                                               at::ScalarType dtype) {
  BALCAP_CHECK(position_ids.dim() == 2, "rotary: position ids must be [batch, seq], got {} dims.", position_ids.dim());
  const auto angles = rope_angles(position_ids, inv_freq);  // [B, S, D/2]
  const auto emb = at::cat({angles, angles}, -1);           // [B, S, D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

std::pair<at::Tensor, at::Tensor> mrope_cos_sin(const at::Tensor& position_ids, const at::Tensor& inv_freq,
                                                const std::vector<int64_t>& mrope_section, at::ScalarType dtype) {
  check_mrope_section(mrope_section, 2 * inv_freq.size(0));
  at::Tensor pos = position_ids;
  if (pos.dim() == 2) pos = pos.unsqueeze(0).expand({3, pos.size(0), pos.size(1)});
  BALCAP_CHECK(pos.dim() == 3 && pos.size(0) == 3,
               "rotary: M-RoPE position ids must be [3, batch, seq] (or [batch, seq]), got {}.", c10::str(pos.sizes()));
  const auto angles = rope_angles(pos, inv_freq);  // [3, B, S, D/2]
  // Chunk k of the half-dim (sizes mrope_section) takes the angles of axis k % 3 (T, H, W).
  std::vector<at::Tensor> chunks;
  int64_t offset = 0;
  for (size_t k = 0; k < mrope_section.size(); ++k) {
    chunks.push_back(angles[static_cast<int64_t>(k % 3)].narrow(-1, offset, mrope_section[k]));
    offset += mrope_section[k];
  }
  const auto half = at::cat(chunks, -1);       // [B, S, D/2]
  const auto emb = at::cat({half, half}, -1);  // [B, S, D]
  // cos/sin of the selected angles == HF's selection of cos/sin chunks (elementwise, same values).
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  // cos, sin: [B, S, D] -> [B, 1, S, D] to broadcast over heads (HF's unsqueeze_dim=1).
  const auto c = cos.unsqueeze(1);
  const auto s = sin.unsqueeze(1);
  return x * c + rotate_half(x) * s;
}

}  // namespace balcap::models
