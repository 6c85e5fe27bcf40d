#pragma once
// A Judge test double for the scorer arithmetic: generations and choice log-probabilities come
// from functions of the request, every call is recorded, and it can be told to fail.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "rewards/judge.h"

namespace balcap::rewards::test {

class TableJudge : public Judge {
 public:
  std::function<std::string(const JudgeRequest&)> generate_answer;
  std::function<std::vector<double>(const JudgeRequest&, const std::vector<std::string>&)> choice_answer;
  bool images = false;
  bool failing = false;
  int generate_calls = 0, choice_calls = 0;
  std::vector<JudgeRequest> generate_requests, choice_requests;

  std::string name() const override { return "table"; }
  bool sees_images() const override { return images; }
  std::vector<std::string> generate(const std::vector<JudgeRequest>& requests, std::int64_t) override {
    ++generate_calls;
    if (failing) throw JudgeError("judge 'table': server down after 3 retries");
    std::vector<std::string> out;
    for (const JudgeRequest& r : requests) {
      generate_requests.push_back(r);
      out.push_back(generate_answer(r));
    }
    return out;
  }
  std::vector<std::vector<double>> choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                   const std::vector<std::string>& choices) override {
    ++choice_calls;
    if (failing) throw JudgeError("judge 'table': server down after 3 retries");
    std::vector<std::vector<double>> out;
    for (const JudgeRequest& r : requests) {
      choice_requests.push_back(r);
      out.push_back(choice_answer(r, choices));
    }
    return out;
  }
};

// Rows over {"Yes", "yes", "No", "no"}.
inline std::vector<double> yes_row() { return {std::log(0.6), std::log(0.1), std::log(0.2), std::log(0.1)}; }
inline std::vector<double> no_row() { return {std::log(0.1), std::log(0.05), std::log(0.8), std::log(0.05)}; }
// P("Yes") is the largest single answer, but P(yes) = 0.45 < P(no) = 0.55.
inline std::vector<double> hedge_row() { return {std::log(0.4), std::log(0.05), std::log(0.3), std::log(0.25)}; }

}  // namespace balcap::rewards::test
