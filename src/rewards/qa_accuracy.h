#pragma once
// Private to src/rewards: Scorer `qa_accuracy` (correctness alternative, CapRL / CaptionQA style): a text-only judge
// answers the record's multiple-choice questions from the caption alone (rewards.prompts.qa).
// The choices are shown in a seeded random order, lettered A, B, ...; the option
// rewards.prompts.qa_cannot_answer is added last. The judge's answer is the letter with the
// highest log-probability (choice_logprobs over the letters; a tie goes to the earlier letter);
// score = share of the record's questions answered correctly. valid = false for records without
// questions or when the judge failed under on_judge_failure: invalid.
//
// Shuffle (the same on every run, machine and rank): seed = FNV-1a-64(record id) XOR
// (0x9E3779B97F4A7C15 * (question index + 1)); a splitmix64 stream from that seed drives a
// Fisher-Yates shuffle from the last position down: j = next() % (i + 1), swap(i, j).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rewards/judge_questions.h"

namespace balcap::rewards {

// The order in which a question's choices are shown: shown[p] = index into QaItem::choices.
std::vector<std::size_t> shuffled_choice_order(const std::string& record_id, std::size_t question_index,
                                               std::size_t choice_count);

class QaAccuracy final : public Objective {
 public:
  QaAccuracy(std::string name, std::shared_ptr<Judge> judge, ScorerSettings settings);
  std::string name() const override { return name_; }
  ObjectiveScores score(const std::vector<ScoredCaption>& captions) override;

 private:
  std::string name_;
  std::shared_ptr<Judge> judge_;
  ScorerSettings settings_;
};

}  // namespace balcap::rewards
