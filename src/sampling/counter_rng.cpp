// Counter-based per-row randomness (see counter_rng.h). The tensor version emulates uint64
// splitmix64 on int64 tensors: wrapping multiplication, logical shifts as arithmetic shift + mask.
#include "sampling/counter_rng.h"

namespace balcap::sampling {
namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
constexpr uint64_t kMul1 = 0xBF58476D1CE4E5B9ULL;
constexpr uint64_t kMul2 = 0x94D049BB133111EBULL;
constexpr uint64_t kSeedSalt = 0x62616C6361702121ULL;  // "balcap!!": keeps seed 0 away from key 0
constexpr int kUniformBits = 23;  // k + 0.5 stays exact in float32: u in [2^-24, 1 - 2^-24]
constexpr float kUniformScale = 1.0f / static_cast<float>(1u << kUniformBits);

int64_t as_signed(uint64_t x) { return static_cast<int64_t>(x); }

// x >> s as on uint64: arithmetic shift, then clear the copied sign bits.
at::Tensor logical_shift_right(const at::Tensor& x, int s) {
  return at::bitwise_and(at::bitwise_right_shift(x, s), as_signed((~0ULL) >> s));
}

at::Tensor mix_tensor(at::Tensor z) {
  z = at::bitwise_xor(z, logical_shift_right(z, 30)).mul_(as_signed(kMul1));
  z = at::bitwise_xor(z, logical_shift_right(z, 27)).mul_(as_signed(kMul2));
  return at::bitwise_xor(z, logical_shift_right(z, 31));
}

}  // namespace

uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * kMul1;
  z = (z ^ (z >> 27)) * kMul2;
  return z ^ (z >> 31);
}

uint64_t row_key(uint64_t seed, int64_t step, int64_t rank, int64_t image_key, int64_t member) {
  uint64_t h = splitmix64_mix(seed ^ kSeedSalt);
  for (int64_t part : {step, rank, image_key, member}) h = splitmix64_mix(h ^ static_cast<uint64_t>(part));
  return h;
}

uint64_t step_key(uint64_t row_key, int64_t t) {
  return splitmix64_mix(row_key + static_cast<uint64_t>(t + 1) * kGolden);
}

at::Tensor step_keys(const at::Tensor& row_keys, int64_t t) {
  return mix_tensor(row_keys.add(as_signed(static_cast<uint64_t>(t + 1) * kGolden)));
}

float counter_uniform(uint64_t key, int64_t index) {
  const uint64_t z = splitmix64_mix(key + static_cast<uint64_t>(index + 1) * kGolden);
  return (static_cast<float>(z >> (64 - kUniformBits)) + 0.5f) * kUniformScale;
}

at::Tensor counter_uniforms(const at::Tensor& keys, const at::Tensor& index) {
  // (index + 1) * G + key, wrapping: [N, C]
  const at::Tensor z = mix_tensor(index.add(1).mul_(as_signed(kGolden)).add(keys.view({-1, 1})));
  return logical_shift_right(z, 64 - kUniformBits).to(at::kFloat).add_(0.5f).mul_(kUniformScale);
}

at::Tensor counter_gumbel(const at::Tensor& keys, const at::Tensor& index) {
  return counter_uniforms(keys, index).log_().neg_().log_().neg_();
}

}  // namespace balcap::sampling
