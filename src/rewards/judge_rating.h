#pragma once
// Private to src/rewards: Scorer `judge_rating` (linguistic, docs/architecture.md §6): the judge rates the caption's fluency, clarity
// and coherence from 1 to 10 (rewards.prompts.rating, one request per aspect). The rating is the
// expectation under the judge's distribution over the answers "1".."10":
//   choice_logprobs gives exact sequence probabilities P("1"), ..., P("10"). With a tokenizer that
//   spells "10" as "1" then "0" (Qwen2/2.5, LLaMA-2, Mistral), P("1") includes the mass of "10",
//   so P(rating 1) = P("1") - P("10"). That case is recognised by P("10") <= P("1"); otherwise
//   ("10" a single token) P(rating 1) = P("1"). The 10 probabilities are normalised to sum to 1.
//   E = sum_r r * P(r); the three aspects are averaged and mapped to [0, 1] by (E - 1) / 9.
// The result is multiplied by the repetition guard's factor (repetition_guard.h).
// valid = false when the judge failed under on_judge_failure: invalid.
#include <memory>
#include <string>
#include <vector>

#include "config/rewards.h"
#include "rewards/judge_questions.h"

namespace balcap::rewards {

// The aspects rated, in order.
const std::vector<std::string>& rating_aspects();
// The answers scored: "1".."10".
const std::vector<std::string>& rating_choices();

// Expected rating in [1, 10] from one choice_logprobs row over rating_choices(). Throws
// JudgeError when the row gives no probability to any rating.
double expected_rating(const std::vector<double>& row);

class JudgeRating final : public Objective {
 public:
  JudgeRating(std::string name, std::shared_ptr<Judge> judge, ScorerSettings settings,
              config::RepetitionGuardConfig guard);
  std::string name() const override { return name_; }
  ObjectiveScores score(const std::vector<ScoredCaption>& captions) override;

 private:
  std::string name_;
  std::shared_ptr<Judge> judge_;
  ScorerSettings settings_;
  config::RepetitionGuardConfig guard_;
};

}  // namespace balcap::rewards
