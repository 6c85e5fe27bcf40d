#pragma once
// Private to src/rewards: rewards.log_judge_calls: every judge call written to a JSONL file for inspection, one line per
// request: {"judge", "call": "generate"|"choice_logprobs", "system", "user", "image" (or null),
// "max_new_tokens" | "choices", "output" (text) | "logprobs" ([per choice]), "batch" (requests in
// the call), "seconds" (the whole call)}; a failed call writes "error" instead of the answer and
// rethrows. A labelled request adds "question" (verify, pointable, split, support, ...) and
// "assertion" (the claim asked about); a Yes/No answer adds "verdict": "yes" | "no" (P(yes) > P(no)),
// so claim_precision's two verdicts per assertion are two lines with the same "assertion". Lines are appended and flushed after each call.
#include <filesystem>
#include <memory>

#include "rewards/judge.h"

namespace balcap::rewards {

// A judge that forwards to `inner` and logs each call to `path` (created, appended to).
// Throws balcap::Error when the file cannot be opened.
std::shared_ptr<Judge> with_call_log(std::shared_ptr<Judge> inner, const std::filesystem::path& path);

}  // namespace balcap::rewards
