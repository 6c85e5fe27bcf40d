#pragma once
// Private to src/train: Rollout phase of a step (docs/architecture.md §1): this rank's records of the step -> images decoded and
// processed ONCE into prompts (the same tensors feed the sampler and the loss) -> G sampled
// captions per image. An image that fails to decode is skipped and counted (data.on_bad_record:
// skip) or stops the run (fail); the step goes on with the others.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "config/config.h"
#include "data/dataset.h"
#include "data/record_image.h"
#include "dist/communicator.h"
#include "models/policy.h"
#include "sampling/sampler.h"
#include "text/tokenizer.h"
#include "vision/image_processor.h"

namespace balcap::train {

// What a phase reads: the run's fixed parts (owned by the session).
struct RolloutInputs {
  const config::Config* config = nullptr;
  models::Policy* policy = nullptr;
  const text::Tokenizer* tokenizer = nullptr;
  const vision::ImageProcessor* processor = nullptr;
  const data::Dataset* dataset = nullptr;
  data::RecordImageDecoder* images = nullptr;
  dist::Communicator* comm = nullptr;
};

// One image of the step: its record and its prompt (ids + pixel tensors).
struct PromptedRecord {
  const data::Record* record = nullptr;
  models::PolicyPrompt prompt;
};

// records -> prompts; failed images are left out (counted in *skipped).
std::vector<PromptedRecord> build_prompts(const RolloutInputs& in, const std::vector<std::int64_t>& record_indices,
                                          std::int64_t* skipped);

struct Rollout {
  std::vector<PromptedRecord> items;      // this rank's images, in order
  std::vector<sampling::Sample> samples;  // sum of group_sizes, request-major
  std::vector<std::int64_t> group_sizes;  // [items.size()]: the captions sampled for each image (G)
  std::int64_t images_skipped = 0;
  double preprocess_seconds = 0;
  double sample_seconds = 0;
  std::int64_t generated_tokens = 0;
};

// Called after each sampled chunk with the samples [begin, end) it added (the scoring pipeline).
using OnSampledChunk = std::function<void(const Rollout&, std::size_t begin, std::size_t end)>;

// `global_indices`: the step's record indices (all ranks); this rank takes its shard.
// Sampling is seeded by (train.seed, step, record index) only, so the captions do not depend on
// how the images are cut into chunks (`chunks`: this rank's images sampled in that many sampler
// calls, on_chunk after each; 1 = one call for all).
Rollout rollout_phase(const RolloutInputs& in, const std::vector<std::int64_t>& global_indices, std::int64_t step,
                      std::int64_t chunks = 1, const OnSampledChunk& on_chunk = {});

}  // namespace balcap::train
