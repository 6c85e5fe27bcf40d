#pragma once
// Private to src/train: One metrics.jsonl row per RL step (docs/training.md lists every field). Fields under `time/` and
// `perf/` are wall-clock measurements (rank 0's clock; the token counts are global); every other field
// is a function of the config, the data and the seed, so a resumed run writes the same bytes for them
// as an uninterrupted one. Every count and statistic covers all ranks (host all-reduces), so a run on
// W ranks logs the values of one process holding the whole batch.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/communicator.h"
#include "train/reward_phase.h"
#include "train/rollout.h"
#include "train/update_phase.h"

namespace balcap::train {

struct StepTimes {
  double preprocess = 0, sample = 0, reward = 0, update = 0, optimizer = 0, checkpoint = 0, step = 0;
  double scoring = 0, advantage = 0;  // the two parts of `reward`
  double rollout_scoring = 0;         // wall time of sampling + scoring (less than their sum when overlapped)
  double scoring_wait = 0;            // of which waiting for scoring after the last caption was sampled
  double host_peak_mib = 0, device_peak_mib = 0;  // train/peak_memory.h (device: this step's peak)
};

// Length statistics of the step's captions on all ranks (tokens, stop token excluded).
struct LengthStats {
  double mean = 0, p90 = 0, truncated_share = 0, reference_mean = 0;
};
LengthStats length_stats(const Rollout& rollout, ReferenceLengths& reference_lengths, dist::Communicator& comm);

// The step's counts summed over ranks.
struct StepCounts {
  std::int64_t images = 0, images_skipped = 0, captions = 0, rollout_tokens = 0, update_tokens = 0;
  std::int64_t update_positions = 0, update_padding = 0;  // the loss forwards' positions and their right padding
};
StepCounts step_counts(const Rollout& rollout, const UpdateOutcome& update, dist::Communicator& comm);

// The 0.9 quantile with linear interpolation (numpy's default); 0 for no values.
double quantile(std::vector<double> values, double q);

nlohmann::json step_metrics(std::int64_t step, std::int64_t epoch, const StepCounts& counts, const RewardOutcome& rewards,
                            const UpdateOutcome& update, const LengthStats& lengths, const StepTimes& times);

// `count` captions of the step with their raw scores and advantage, for the samples log.
nlohmann::json caption_samples(const Rollout& rollout, const RewardOutcome& rewards, std::int64_t count);

}  // namespace balcap::train
