// Rollout phase; see src/train/rollout.h.
#include "train/rollout.h"

#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "dist/shard.h"
#include "models/caption_prompt.h"

namespace balcap::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<PromptedRecord> build_prompts(const RolloutInputs& in, const std::vector<std::int64_t>& record_indices,
                                          std::int64_t* skipped) {
  std::vector<PromptedRecord> out;
  for (std::int64_t index : record_indices) {
    const data::Record& record = in.dataset->records.at(static_cast<std::size_t>(index));
    std::optional<vision::Image> image = in.images->decode(record);
    if (!image) {
      if (skipped) ++*skipped;
      continue;
    }
    const auto& data = in.config->data;
    out.push_back({&record, models::build_caption_prompt(*in.tokenizer, *in.processor, *image, data.prompt, data.system_prompt)});
  }
  return out;
}

Rollout rollout_phase(const RolloutInputs& in, const std::vector<std::int64_t>& global_indices, std::int64_t step) {
  Rollout r;
  auto t0 = std::chrono::steady_clock::now();
  r.items = build_prompts(in, dist::rank_shard(global_indices, *in.comm), &r.images_skipped);
  r.preprocess_seconds = seconds_since(t0);
  if (r.items.empty()) return r;

  const config::Config& cfg = *in.config;
  sampling::SamplingParams params =
      sampling::sampling_params_from(cfg.sampling, in.policy->generation_config(), cfg.train.group_size);
  std::vector<sampling::SampleRequest> requests;
  for (const PromptedRecord& item : r.items) requests.push_back({item.prompt, item.record->index});
  t0 = std::chrono::steady_clock::now();
  // Randomness keyed by (seed, step, image index), not by rank: any world size samples the same captions.
  const sampling::RolloutSeed seed{static_cast<std::uint64_t>(cfg.train.seed), step, 0};
  {
    at::NoGradGuard no_grad;
    r.samples = sampling::sample(*in.policy, *in.tokenizer, requests, params, seed);
  }
  r.sample_seconds = seconds_since(t0);
  r.group_sizes.assign(r.items.size(), params.group_size);
  for (const auto& s : r.samples) r.generated_tokens += static_cast<std::int64_t>(s.ids.size());
  return r;
}

}  // namespace balcap::train
