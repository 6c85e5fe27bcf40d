#pragma once
// Private to src/rewards: The Judge seam (docs/architecture.md §6, §12): how a scorer's questions get answered. Scorers build prompts
// (from the templates in the config) and ask a judge; judges are `local` (a model in this
// process), `remote` (an OpenAI-compatible server), `lexical` and `scene` (no model: those
// implement Objective directly and need no Judge).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace balcap::rewards {

// A judge that could not answer (server down after the retry budget, timeout, malformed reply).
// Scorers catch it only when rewards.on_judge_failure is `invalid` (scores marked invalid);
// otherwise it stops the step. Never turned into a zero score.
class JudgeError : public Error {
 public:
  using Error::Error;
};

// One judge question: a system and a user message (the judge applies its own chat template:
// ChatML for Qwen-family judges, the LLaMA-2 chat format for LLaMA judges; the remote judge sends
// them as chat messages (`api: chat`) or as the ChatML text (`api: completions`)), and an image
// for vision judges.
struct JudgeRequest {
  std::string system;
  std::string user;
  std::optional<std::string> image_path;  // only for judges with sees_images()
  // Labels for rewards.log_judge_calls only (judges ignore them): what is asked ("verify",
  // "pointable", "split", ...) and about which assertion, so the log shows each assertion's verdicts.
  std::string question;
  std::string assertion;
};

class Judge {
 public:
  virtual ~Judge() = default;
  virtual std::string name() const = 0;
  virtual bool sees_images() const = 0;
  // Greedy completion of each request (claim splitting), at most max_new_tokens tokens, stopping
  // at the judge's end-of-turn token. One string per request, same order.
  virtual std::vector<std::string> generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) = 0;
  // log P(choice text | request's rendered prompt) for every request and choice: the sum of the
  // log-probabilities of the tokens of tokenize(prompt + choice) after tokenize(prompt) (the
  // rendered prompt ends with the assistant header, so its tokens are a prefix). Multi-token
  // choices are exact (e.g. "10" = "1" then "0"): scorers rely on it. -> [requests][choices].
  virtual std::vector<std::vector<double>> choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                           const std::vector<std::string>& choices) = 0;
};

}  // namespace balcap::rewards
