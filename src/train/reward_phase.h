#pragma once
// Private to src/train: Reward phase of a step (docs/architecture.md §1): the objectives' K x N raw
// scores (scored by train/scoring_pipeline.h, during or after the rollout), the length mask gates the listed objectives by caption length vs the references' length, and
// the advantage (GDPO / GRPO, batch statistics over all ranks) turns them into one number per
// caption.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "algo/advantage.h"
#include "config/config.h"
#include "dist/communicator.h"
#include "rewards/objective.h"
#include "rewards/score_captions.h"
#include "text/tokenizer.h"
#include "train/rollout.h"

namespace balcap::train {

// Mean token length of a record's references (0 when it has none), cached by record index.
class ReferenceLengths {
 public:
  explicit ReferenceLengths(const text::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  double of(const data::Record& record);

 private:
  const text::Tokenizer& tokenizer_;
  std::map<std::int64_t, double> cache_;
};

// Caption length for the mask and the metrics: generated tokens without the stop token.
std::int64_t caption_tokens(const sampling::Sample& sample);

struct RewardOutcome {
  std::vector<algo::ObjectiveRewards> raw;  // K objectives x N raw scores (before the mask)
  algo::AdvantageResult advantage;          // advantages [N], masked flags, stats
  std::vector<double> objective_seconds;    // [K]
  double scoring_seconds = 0;               // every objective on every caption (judges; busy time when overlapped)
  double advantage_seconds = 0;             // length mask + advantages (with their all-reduces)
  // b-CapScore of the batch (rewards/b_capscore.h): the harmonic mean of the global raw means of the
  // precision, recall and linguistic objectives; nullopt when the config lacks one of them.
  std::optional<double> b_capscore;
  double seconds = 0;
};

RewardOutcome reward_phase(const config::Config& config, const rewards::RewardMatrix& scores, double scoring_seconds,
                           const Rollout& rollout, ReferenceLengths& reference_lengths, dist::Communicator& comm);

}  // namespace balcap::train
