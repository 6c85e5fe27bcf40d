#pragma once
// The Objective seam (docs/architecture.md §6, §12): one BalCapRL objective maps (record, caption) to a raw score
// in [0, 1] plus a valid flag. Implementations: the judge-backed scorers (claim_precision,
// qa_accuracy, claim_recall, judge_rating), the lexical scorers and the synthetic scene scorers.
#include <cstdint>
#include <string>
#include <vector>

#include "data/record.h"

namespace balcap::rewards {

// One caption to score, with the record it describes.
struct ScoredCaption {
  const data::Record* record = nullptr;
  std::string text;
  std::int64_t tokens = 0;  // caption length in policy tokens (the length mask uses it)
};

// Per caption, same order as the input. valid == false: the score is left out of the group
// statistics (a judge that failed under on_judge_failure: invalid, or nothing to score against).
struct ObjectiveScores {
  std::vector<double> score;
  std::vector<bool> valid;
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;  // the key in rewards.objectives (metrics, weights, length_mask)
  // Scores a batch (all captions of a step: the judges batch their calls). Throws balcap::Error
  // when a judge fails and the config says on_judge_failure: fail.
  virtual ObjectiveScores score(const std::vector<ScoredCaption>& captions) = 0;
};

}  // namespace balcap::rewards
