#pragma once
// The group sampler (docs/architecture.md §5): B prompts -> G sampled captions each. Each prompt is prefilled
// once (vision tower + prompt, batch 1); its keys/values are kept once, as the shared prefix of its
// G rows (never copied per member: the G rows' queries read it together, prefix_attention.h), and
// all B*G rows decode together into one preallocated cache of generated tokens, one token per step,
// with no host sync except every finish_check_every steps (stop when all rows finished; compact
// the rows, and drop prompts no row reads, when at least half of them did).
// Static decoding (cuda_graphs on CUDA, or static_decode): Policy::decode_static with a device-side
// cache index and a [N, T_max] key mask that opens one slot per step; attention runs over the first
// K generated slots, K = the written length rounded up to kStaticKeyBucket (one CUDA graph per (N, K)).
// Randomness: counter_rng.h (a row's draws depend on (seed, step, rank, image_key, member) only).
// docs/sampling.md describes the controls and the RNG contract.
#include <cstdint>
#include <string>
#include <vector>

#include "models/policy.h"
#include "sampling/sampling_params.h"
#include "text/tokenizer.h"

namespace balcap::sampling {

// Static decoding attends to the cache in buckets of this many slots (fewer keys read early on,
// few graph captures: ceil(S_max / 64) per row count).
inline constexpr int64_t kStaticKeyBucket = 64;

struct RolloutSeed {
  uint64_t seed = 0;
  int64_t step = 0;
  int64_t rank = 0;
};

struct SampleRequest {
  models::PolicyPrompt prompt;
  int64_t image_key = 0;  // dataset index of the image: seeds its rows' randomness
};

struct Sample {
  int64_t request = 0;
  int64_t member = 0;
  std::vector<int64_t> ids;     // generated ids; ends with the stop id when finish_reason == "stop"
  std::vector<float> logprobs;  // one per id: log p(id) under the distribution it was drawn from
  std::string finish_reason;    // "stop" | "length"
  std::string text;             // decode(ids without the stop id, skip_special_tokens = true)
};

// B requests -> B*G samples, request-major (request 0's G members first).
std::vector<Sample> sample(models::Policy& policy, const text::Tokenizer& tokenizer, const std::vector<SampleRequest>& requests,
                           const SamplingParams& params, const RolloutSeed& seed);

}  // namespace balcap::sampling
