#pragma once
// Private to src/rewards: what every model judge's answers must be before a scorer reads them. A
// judge that answers the wrong number of requests or choices, or a log-probability that is NaN,
// +inf or above 0 (not a log-probability), or gives every choice probability 0, raises JudgeError
// naming the judge and where it runs, so rewards.on_judge_failure decides (stop the step, or mark
// those captions invalid) and a broken answer never becomes a reward, a zero included. The remote
// judge's transport faults are handled before this (openai_endpoint.h: retries, then JudgeError).
#include <cstddef>
#include <memory>
#include <string>

#include "rewards/judge.h"

namespace balcap::rewards {

// `where`: where the judge runs, for the message ("http://host:8000/v1", a model directory).
std::shared_ptr<Judge> with_answer_checks(std::shared_ptr<Judge> inner, std::string where);

// JudgeError unless a judge answered `got` of `expected` requests (what = "requests", "choices").
void check_answer_count(const std::string& judge, const std::string& where, std::size_t expected, std::size_t got,
                        const char* what = "requests");

}  // namespace balcap::rewards
