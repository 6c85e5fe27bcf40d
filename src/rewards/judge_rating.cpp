// Scorer judge_rating (src/rewards/judge_rating.h).
#include "rewards/judge_rating.h"

#include <algorithm>
#include <cmath>

#include "rewards/repetition_guard.h"

namespace balcap::rewards {

const std::vector<std::string>& rating_aspects() {
  static const std::vector<std::string> aspects = {"fluency", "clarity", "coherence"};
  return aspects;
}

const std::vector<std::string>& rating_choices() {
  static const std::vector<std::string> choices = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
  return choices;
}

double expected_rating(const std::vector<double>& row) {
  // Probabilities relative to the largest (exp of differences: no underflow for long prompts).
  double top = *std::max_element(row.begin(), row.end());
  if (!std::isfinite(top)) throw JudgeError("the judge gave no probability to any rating 1..10");
  std::vector<double> p(10);
  for (std::size_t r = 0; r < 10; ++r) p[r] = std::exp(row[r] - top);
  // "10" = "1" then "0": P("1") counts the ratings that continue with "0".
  if (p[9] <= p[0]) p[0] -= p[9];
  double total = 0, weighted = 0;
  for (std::size_t r = 0; r < 10; ++r) {
    total += p[r];
    weighted += static_cast<double>(r + 1) * p[r];
  }
  return weighted / total;  // total >= the largest p, which is 1 (or P("10") when p[0] shrank)
}

JudgeRating::JudgeRating(std::string name, std::shared_ptr<Judge> judge, ScorerSettings settings,
                         config::RepetitionGuardConfig guard)
    : name_(std::move(name)), judge_(std::move(judge)), settings_(std::move(settings)), guard_(guard) {}

ObjectiveScores JudgeRating::score(const std::vector<ScoredCaption>& captions) {
  const std::size_t n = captions.size();
  const std::size_t aspects = rating_aspects().size();
  std::vector<JudgeRequest> requests;  // caption-major: [i * aspects + a]
  for (const ScoredCaption& c : captions) {
    record_of(c, name_);
    for (const std::string& aspect : rating_aspects()) {
      requests.push_back(judge_request(
          settings_, render_template(settings_.prompts.rating, {{"caption", c.text}, {"aspect", aspect}})));
    }
  }
  ObjectiveScores out{std::vector<double>(n, 0.0), std::vector<bool>(n, true)};
  if (n == 0) return out;
  bool answered = judge_answered(settings_, name_, [&] {
    std::vector<std::vector<double>> rows = judge_->choice_logprobs(requests, rating_choices());
    for (std::size_t i = 0; i < n; ++i) {
      double sum = 0;
      for (std::size_t a = 0; a < aspects; ++a) sum += expected_rating(rows.at(i * aspects + a));
      double mean = sum / static_cast<double>(aspects);
      out.score[i] = (mean - 1.0) / 9.0 * repetition_factor(captions[i].text, guard_);
    }
  });
  if (!answered) out.valid.assign(n, false);
  return out;
}

}  // namespace balcap::rewards
