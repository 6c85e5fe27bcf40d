// Rollout phase; see src/train/rollout.h.
#include "train/rollout.h"

#include <algorithm>
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

namespace {

// Images [first, last) of the rollout sampled in one sampler call; their samples appended.
void sample_chunk(const RolloutInputs& in, const sampling::SamplingParams& params, std::int64_t step, std::size_t first,
                  std::size_t last, Rollout& r) {
  std::vector<sampling::SampleRequest> requests;
  for (std::size_t i = first; i < last; ++i) requests.push_back({r.items[i].prompt, r.items[i].record->index});
  // Randomness keyed by (seed, step, image index), not by rank or chunk: any world size and any
  // chunking sample the same captions.
  const sampling::RolloutSeed seed{static_cast<std::uint64_t>(in.config->train.seed), step, 0};
  std::vector<sampling::Sample> samples;
  {
    at::NoGradGuard no_grad;
    samples = sampling::sample(*in.policy, *in.tokenizer, requests, params, seed);
  }
  for (sampling::Sample& s : samples) {
    s.request += static_cast<std::int64_t>(first);  // the chunk's request -> the rollout's item
    r.generated_tokens += static_cast<std::int64_t>(s.ids.size());
    r.samples.push_back(std::move(s));
  }
}

}  // namespace

Rollout rollout_phase(const RolloutInputs& in, const std::vector<std::int64_t>& global_indices, std::int64_t step,
                      std::int64_t chunks, const OnSampledChunk& on_chunk) {
  Rollout r;
  auto t0 = std::chrono::steady_clock::now();
  r.items = build_prompts(in, dist::rank_shard(global_indices, *in.comm), &r.images_skipped);
  r.preprocess_seconds = seconds_since(t0);
  if (r.items.empty()) return r;

  const config::Config& cfg = *in.config;
  const sampling::SamplingParams params =
      sampling::sampling_params_from(cfg.sampling, in.policy->generation_config(), cfg.train.group_size);
  const std::size_t n = r.items.size();
  const auto c = static_cast<std::size_t>(std::clamp<std::int64_t>(chunks, 1, static_cast<std::int64_t>(n)));
  for (std::size_t k = 0; k < c; ++k) {  // chunk k: images [k n / c, (k + 1) n / c)
    const std::size_t begin = r.samples.size();
    t0 = std::chrono::steady_clock::now();
    sample_chunk(in, params, step, k * n / c, (k + 1) * n / c, r);
    r.sample_seconds += seconds_since(t0);
    if (on_chunk) on_chunk(r, begin, r.samples.size());
  }
  r.group_sizes.assign(n, params.group_size);
  return r;
}

}  // namespace balcap::train
