#pragma once
// Private to src/rewards: Scorer `claim_recall` (coverage, docs/architecture.md §6): the reference's atomic claims (the record's
// `claims` when it has them, else the judge splits its references with
// rewards.prompts.claim_split, once per record id for the whole run), each checked with a Yes/No
// question (rewards.prompts.claim_support): does the caption support it? A claim counts as
// supported when P(yes) > P(no). score = supported / reference claims. valid = false when the
// record has neither claims nor references, the split gives no claim, or the judge failed
// under on_judge_failure: invalid.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rewards/judge_questions.h"

namespace balcap::rewards {

class ClaimRecall final : public Objective {
 public:
  ClaimRecall(std::string name, std::shared_ptr<Judge> judge, ScorerSettings settings);
  std::string name() const override { return name_; }
  ObjectiveScores score(const std::vector<ScoredCaption>& captions) override;

  // Records whose reference claims were split by the judge so far (the cache size).
  std::size_t cached_records() const { return cache_.size(); }

 private:
  // Fills cache_ for the records of `captions` that need the judge's split. Returns false when
  // the judge failed (invalid_on_failure): those records stay uncached.
  bool split_missing_references(const std::vector<ScoredCaption>& captions);
  const std::vector<std::string>* reference_claims(const data::Record& record) const;

  std::string name_;
  std::shared_ptr<Judge> judge_;
  ScorerSettings settings_;
  std::map<std::string, std::vector<std::string>> cache_;  // record id -> the judge's claims
};

}  // namespace balcap::rewards
