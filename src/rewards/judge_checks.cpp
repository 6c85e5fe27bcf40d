// Answer checks of the model judges (src/rewards/judge_checks.h).
#include "rewards/judge_checks.h"

#include <fmt/ranges.h>

#include <cmath>
#include <vector>

#include "core/error.h"

namespace balcap::rewards {
namespace {

// Float rounding can push a certain answer's log-probability a hair above 0; more is not a log-probability.
constexpr double kLogprobSlack = 1e-3;

std::string judge_text(const std::string& judge, const std::string& where) {
  return where.empty() ? fmt::format("judge '{}'", judge) : fmt::format("judge '{}' ({})", judge, where);
}

std::string snippet(const std::string& text) { return text.size() <= 80 ? text : text.substr(0, 77) + "..."; }

// JudgeError unless every value of `row` is a log-probability and one choice is possible.
void check_row(const std::string& judge, const std::string& where, const std::vector<double>& row,
               const std::vector<std::string>& choices, std::size_t index, const JudgeRequest& request) {
  bool possible = false;
  for (std::size_t c = 0; c < row.size(); ++c) {
    const double v = row[c];
    if (std::isnan(v) || v > kLogprobSlack) {
      throw JudgeError(fmt::format(
          "{}: request {} ('{}') got log-probability {} for answer '{}', which is not a log-probability\nHINT: the "
          "judge model produced it (a local judge in float16/bfloat16 can overflow: try dtype: float32), or the "
          "server returns something else in its logprobs; rewards.on_judge_failure: invalid leaves these captions "
          "out instead of stopping",
          judge_text(judge, where), index, snippet(request.user), v, choices[c]));
    }
    possible = possible || std::isfinite(v);
  }
  if (!possible && !row.empty()) {
    throw JudgeError(fmt::format(
        "{}: request {} ('{}') got probability 0 for every answer ({})\nHINT: a judge always gives some answer a "
        "probability: check that the server returns the logprobs of these answers (api: chat reads the first "
        "token's top_logprobs)",
        judge_text(judge, where), index, snippet(request.user), fmt::join(choices, ", ")));
  }
}

class CheckedJudge final : public Judge {
 public:
  CheckedJudge(std::shared_ptr<Judge> inner, std::string where) : inner_(std::move(inner)), where_(std::move(where)) {}

  std::string name() const override { return inner_->name(); }
  bool sees_images() const override { return inner_->sees_images(); }

  std::vector<std::string> generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) override {
    std::vector<std::string> texts = inner_->generate(requests, max_new_tokens);
    check_answer_count(name(), where_, requests.size(), texts.size());
    return texts;
  }

  std::vector<std::vector<double>> choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                   const std::vector<std::string>& choices) override {
    auto rows = inner_->choice_logprobs(requests, choices);
    check_answer_count(name(), where_, requests.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      check_answer_count(name(), where_, choices.size(), rows[i].size(), "choices");
      check_row(name(), where_, rows[i], choices, i, requests[i]);
    }
    return rows;
  }

 private:
  std::shared_ptr<Judge> inner_;
  std::string where_;
};

}  // namespace

void check_answer_count(const std::string& judge, const std::string& where, std::size_t expected, std::size_t got,
                        const char* what) {
  if (expected == got) return;
  throw JudgeError(fmt::format("{}: answered {} of {} {}\nHINT: the judge's reply does not match its request; "
                               "check the server (an OpenAI-compatible one returns one choice per prompt)",
                               judge_text(judge, where), got, expected, what));
}

std::shared_ptr<Judge> with_answer_checks(std::shared_ptr<Judge> inner, std::string where) {
  return std::make_shared<CheckedJudge>(std::move(inner), std::move(where));
}

}  // namespace balcap::rewards
