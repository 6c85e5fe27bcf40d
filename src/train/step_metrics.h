#pragma once
// Private to src/train: One metrics.jsonl row per RL step (docs/training.md lists every field). Fields under `time/` and
// `perf/` are wall-clock measurements; every other field is a function of the config, the data and
// the seed, so a resumed run writes the same bytes for them as an uninterrupted one.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/reward_phase.h"
#include "train/rollout.h"
#include "train/update_phase.h"

namespace balcap::train {

struct StepTimes {
  double preprocess = 0, sample = 0, reward = 0, update = 0, optimizer = 0, checkpoint = 0, step = 0;
};

// Length statistics of the step's captions (tokens, stop token excluded).
struct LengthStats {
  double mean = 0, p90 = 0, truncated_share = 0, reference_mean = 0;
};
LengthStats length_stats(const Rollout& rollout, ReferenceLengths& reference_lengths);

// The 0.9 quantile with linear interpolation (numpy's default); 0 for no values.
double quantile(std::vector<double> values, double q);

nlohmann::json step_metrics(std::int64_t step, std::int64_t epoch, const Rollout& rollout, const RewardOutcome& rewards,
                            const UpdateOutcome& update, const LengthStats& lengths, const StepTimes& times);

// `count` captions of the step with their raw scores and advantage, for the samples log.
nlohmann::json caption_samples(const Rollout& rollout, const RewardOutcome& rewards, std::int64_t count);

}  // namespace balcap::train
