// SamplingParams from the config + checkpoint, and their validation.
#include "sampling/sampling_params.h"

#include <algorithm>

#include "core/error.h"

namespace balcap::sampling {

SamplingParams sampling_params_from(const config::SamplingConfig& config, const io::GenerationConfig& generation,
                                    int64_t group_size) {
  SamplingParams p;
  p.temperature = config.temperature;
  p.top_p = config.top_p;
  p.top_k = config.top_k;
  p.max_new_tokens = config.max_new_tokens;
  p.min_new_tokens = config.min_new_tokens;
  p.repetition_penalty = config.repetition_penalty;
  p.stop_ids = config.stop_token_ids;
  if (config.generation_config_stops) {
    p.stop_ids.insert(p.stop_ids.end(), generation.eos_token_ids.begin(), generation.eos_token_ids.end());
  }
  std::sort(p.stop_ids.begin(), p.stop_ids.end());
  p.stop_ids.erase(std::unique(p.stop_ids.begin(), p.stop_ids.end()), p.stop_ids.end());
  p.group_size = group_size;
  p.finish_check_every = config.finish_check_every;
  p.cuda_graphs = config.cuda_graphs;
  return p;
}

void validate(const SamplingParams& p) {
  BALCAP_CHECK(p.greedy || (p.temperature > 0 && p.temperature <= 100),
               "sampling.temperature = {} is outside (0, 100]. HINT: use greedy for a deterministic argmax.",
               p.temperature);
  BALCAP_CHECK(p.top_p > 0 && p.top_p <= 1, "sampling.top_p = {} is outside (0, 1]. HINT: 1 turns it off.",
               p.top_p);
  BALCAP_CHECK(p.top_k >= 0, "sampling.top_k = {} is negative. HINT: 0 turns it off.", p.top_k);
  BALCAP_CHECK(p.max_new_tokens >= 1, "sampling.max_new_tokens = {} must be at least 1.", p.max_new_tokens);
  BALCAP_CHECK(p.min_new_tokens >= 0, "sampling.min_new_tokens = {} is negative.", p.min_new_tokens);
  BALCAP_CHECK(p.repetition_penalty > 0, "sampling.repetition_penalty = {} must be positive. HINT: 1 turns it off.",
               p.repetition_penalty);
  BALCAP_CHECK(p.group_size >= 1, "sampling group size {} must be at least 1. HINT: set the group size G >= 1.",
               p.group_size);
  BALCAP_CHECK(p.finish_check_every >= 1, "sampling.finish_check_every = {} must be at least 1.",
               p.finish_check_every);
  for (int64_t id : p.stop_ids) {
    BALCAP_CHECK(id >= 0, "sampling stop id {} is negative. HINT: stop ids are token ids of the tokenizer.", id);
  }
}

}  // namespace balcap::sampling
