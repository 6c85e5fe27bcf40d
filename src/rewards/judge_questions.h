#pragma once
// Private to src/rewards: What the judge-backed scorers share: filling prompt templates, the yes/no choice set and how
// it is read, parsing claim lists, and the on_judge_failure policy.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/prompts.h"
#include "rewards/judge.h"
#include "rewards/objective.h"

namespace balcap::rewards {

// What every judge scorer is built with (from rewards.* and the judge's config).
struct ScorerSettings {
  config::PromptsConfig prompts;
  bool invalid_on_failure = false;    // rewards.on_judge_failure == invalid
  std::int64_t max_new_tokens = 512;  // the judge's max_new_tokens (claim splitting)
  bool pointability = false;          // claim_precision: the pointability test too (rewards.pointability)
};

// rewards.pointability for a claim_precision objective with `evidence` (image | reference | both):
// auto -> on unless the evidence is reference only (the paper checks assertions against the image).
bool pointability_on(const std::string& setting, const std::string& evidence);

// Replaces each {name} of `text` by values.at(name); a placeholder without a value throws
// balcap::Error (config validation makes that a programming error for the built-in templates).
std::string render_template(std::string_view text, const std::map<std::string, std::string>& values);

// A request with the settings' system message; `question` and `assertion` only label it in the call log.
JudgeRequest judge_request(const ScorerSettings& settings, std::string user, std::string question = "",
                           std::string assertion = "");

// Yes/No questions are scored over these four continuations; P(yes) = P("Yes") + P("yes") and
// P(no) likewise, so the judge's capitalisation does not matter.
const std::vector<std::string>& yes_no_choices();
// Whether one choice_logprobs row over yes_no_choices() says yes: P(yes) > P(no) (a tie is no).
bool says_yes(const std::vector<double>& row);

// The judge's claim list: one claim per line; list markers ("-", "*", "•", "1.", "2)") and
// surrounding spaces stripped; empty lines dropped.
std::vector<std::string> parse_claims(std::string_view text);

// The references of a record as one text, one per line.
std::string joined_references(const data::Record& record);

// Runs `call`; when it throws JudgeError and the settings say invalid_on_failure, logs it and
// returns false (the caller marks the affected scores invalid); otherwise rethrows.
template <class F>
bool judge_answered(const ScorerSettings& settings, const std::string& objective, F&& call);

// The record of a caption, or a clear error naming the objective.
const data::Record& record_of(const ScoredCaption& caption, const std::string& objective);

void log_judge_failure(const std::string& objective, const JudgeError& error);

template <class F>
bool judge_answered(const ScorerSettings& settings, const std::string& objective, F&& call) {
  try {
    call();
    return true;
  } catch (const JudgeError& e) {
    if (!settings.invalid_on_failure) throw;
    log_judge_failure(objective, e);
    return false;
  }
}

}  // namespace balcap::rewards
