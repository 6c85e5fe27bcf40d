#pragma once
// Private to src/sampling: The controls of one sampling call (docs/sampling.md): temperature / top-p / top-k / penalties,
// stop ids, group size and decode mode; built from the `sampling:` config and the checkpoint's
// generation_config, and validated before the sampler runs.
#include <cstdint>
#include <vector>

#include "config/sampling.h"
#include "io/generation_config.h"

namespace balcap::sampling {

struct SamplingParams {
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  int64_t max_new_tokens = 256;
  int64_t min_new_tokens = 0;        // stop ids are blocked while fewer tokens were generated
  double repetition_penalty = 1.0;   // 1 = off (HF-style when on)
  std::vector<int64_t> stop_ids;     // a row finishes at the first of these it samples
  bool greedy = false;               // argmax instead of drawing (temperature/top-k/top-p unused)
  int64_t group_size = 1;            // G samples per request
  int64_t finish_check_every = 8;    // decode steps between host syncs
  bool cuda_graphs = true;           // CUDA: static-shape decode steps replayed from CUDA graphs
  bool static_decode = false;        // static-shape decode steps without capture (any device; tests)
};

// Controls from the `sampling:` config; stop ids = config stop_token_ids, plus the checkpoint's
// eos ids when generation_config_stops (duplicates removed).
SamplingParams sampling_params_from(const config::SamplingConfig& config, const io::GenerationConfig& generation,
                                    int64_t group_size);

// Out-of-range controls -> balcap::Error naming the field and value.
void validate(const SamplingParams& params);

}  // namespace balcap::sampling
