#pragma once
// `sampling:` — how the G captions of a group are drawn (docs/architecture.md §5). Defaults are the
// plain-sampling settings RL captioning recipes use (verl/TRL: T=1, no top-p/top-k cut,
// no repetition penalty), so the sampled logprobs are the policy's own.
#include <cstdint>
#include <vector>

#include "config/spec.h"

namespace balcap::config {

struct SamplingConfig {
  double temperature = 1.0;
  double top_p = 1.0;
  std::int64_t top_k = 0;
  std::int64_t max_new_tokens = 256;
  std::int64_t min_new_tokens = 0;
  double repetition_penalty = 1.0;
  std::vector<std::int64_t> stop_token_ids;
  bool generation_config_stops = true;
  std::int64_t finish_check_every = 8;
  bool cuda_graphs = true;

  template <class V>
  void visit(V& v) {
    v.field("temperature", temperature, "Softmax temperature of rollout sampling.", Spec().above(0).at_most(100));
    v.field("top_p", top_p, "Nucleus sampling: keep the smallest set of tokens with this mass; 1 = off.",
            Spec().above(0).at_most(1));
    v.field("top_k", top_k, "Keep the k most likely tokens; 0 = off.", Spec().at_least(0));
    v.field("max_new_tokens", max_new_tokens, "Longest caption, in tokens (finish reason `length`).",
            Spec().at_least(1).at_most(32768));
    v.field("min_new_tokens", min_new_tokens, "Stop tokens are blocked until this many tokens were generated.",
            Spec().at_least(0));
    v.field("repetition_penalty", repetition_penalty,
            "HF-style repetition penalty; 1 = off (RL caption recipes sample without it).",
            Spec().above(0).at_most(10));
    v.field("stop_token_ids", stop_token_ids, "Extra stop token ids, added to those of generation_config.json.",
            Spec().at_least(0));
    v.field("generation_config_stops", generation_config_stops,
            "Also stop at the eos_token_id(s) of the checkpoint's generation_config.json.");
    v.field("finish_check_every", finish_check_every,
            "Decode steps between checks that every sequence finished (each check is a host sync).",
            Spec().at_least(1).at_most(1024));
    v.field("cuda_graphs", cuda_graphs, "Capture the decode step in a CUDA graph when shapes allow (GPU only).");
  }
  bool operator==(const SamplingConfig&) const = default;
};

}  // namespace balcap::config
