#pragma once
// Private to src/rewards: Scorer `claim_precision` (correctness, docs/architecture.md §6): the judge splits each caption into atomic
// claims (greedy generation with rewards.prompts.claim_split, one claim per line), then verifies
// every claim with a Yes/No question (choice_logprobs over Yes/yes/No/no):
//   evidence image      verify_image against the record's image (needs a judge that sees images)
//   evidence reference  verify_reference against the record's reference captions (text judge)
//   evidence both       verify_both: the image and the references
// A claim is verified when P(yes) > P(no) (a decision per claim, so the score is the share of
// claims the judge accepts, as in the paper; not P(yes) averaged, which rewards hedging judges).
// With pointability (rewards.pointability; on for image evidence, as in BalCapRL) each claim is
// also asked rewards.prompts.pointable (with the image unless the evidence is reference only) and
// counts only when both answers are yes: "a red car" passes, "the mood is warm" does not.
// score = claims passing / claims; a caption with no claim scores 0. valid = false when the evidence
// is missing (no references for reference/both) or the judge failed under on_judge_failure: invalid.
#include <memory>
#include <string>

#include "rewards/judge_questions.h"

namespace balcap::rewards {

class ClaimPrecision final : public Objective {
 public:
  // evidence: image | reference | both. Throws balcap::Error when the evidence needs images and
  // the judge does not see them.
  ClaimPrecision(std::string name, std::shared_ptr<Judge> judge, std::string evidence, ScorerSettings settings);
  std::string name() const override { return name_; }
  ObjectiveScores score(const std::vector<ScoredCaption>& captions) override;

 private:
  // The verification question of one claim about one record.
  JudgeRequest verify_request(const data::Record& record, const std::string& claim) const;
  // The pointability question of one claim.
  JudgeRequest pointable_request(const data::Record& record, const std::string& claim) const;

  std::string name_;
  std::shared_ptr<Judge> judge_;
  std::string evidence_;
  ScorerSettings settings_;
};

}  // namespace balcap::rewards
