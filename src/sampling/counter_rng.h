#pragma once
// Private to src/sampling: Counter-based randomness for rollouts: every sampled sequence (row) has a 64-bit key derived from
// (seed, step, rank, image_key, member); its noise at token t and index i (a block or a candidate
// column) is a pure function of (key, t, i). A row's draws therefore never depend on which other
// rows share the batch, on compaction, or on the device; a resumed run re-derives the same keys and
// re-samples identically.
//
//   row key    = mix(mix(mix(mix(mix(seed ^ K0) ^ step) ^ rank) ^ image_key) ^ member)
//   step key   = mix(row key + (t + 1) * G)                     G = 0x9E3779B97F4A7C15
//   uniform(k, i) = ((mix(k + (i + 1) * G) >> 41) + 0.5) * 2^-23     in (0, 1), never 0 or 1
//   mix        = the splitmix64 finaliser (Steele, Lea, Flood 2014), all arithmetic mod 2^64;
//   uniform(k, .) is the splitmix64 stream seeded with k.
#include <ATen/ATen.h>

#include <cstdint>

namespace balcap::sampling {

// The splitmix64 finaliser of z (mod 2^64).
uint64_t splitmix64_mix(uint64_t z);

// The key of one sequence (host side, computed once per rollout).
uint64_t row_key(uint64_t seed, int64_t step, int64_t rank, int64_t image_key, int64_t member);

// The key of token index t of a row.
uint64_t step_key(uint64_t row_key, int64_t t);
// keys [N] int64 (the uint64 bits) -> step keys [N] int64, with tensor ops on the keys' device.
at::Tensor step_keys(const at::Tensor& row_keys, int64_t t);

// Uniform number `index` of the stream `key` (host reference).
float counter_uniform(uint64_t key, int64_t index);
// keys [N] int64, index [N, C] or [1, C] int64 -> uniforms [N, C] float32 (tensor ops, no host sync).
at::Tensor counter_uniforms(const at::Tensor& keys, const at::Tensor& index);

// Standard Gumbel noise -log(-log(u)) of counter_uniforms: [N, C] float32.
at::Tensor counter_gumbel(const at::Tensor& keys, const at::Tensor& index);

}  // namespace balcap::sampling
