#pragma once
// Private to src/rewards: The repetition guard of the linguistic score (issue 5): a caption that repeats itself is
// worth less however fluent each sentence is. factor = distinct n-grams / all n-grams of the
// caption's lowercased words (n = rewards.repetition_guard.ngram): 1 for no repeat, about 0.5 when
// the caption is one phrase written twice, -> 0 for a phrase repeated forever. The judge_rating
// score is multiplied by it.
#include <cstdint>
#include <string_view>

#include "config/rewards.h"

namespace balcap::rewards {

// In [0, 1]; 1 for captions shorter than n words.
double repetition_factor(std::string_view caption, std::int64_t ngram);

// 1 when the guard is disabled.
double repetition_factor(std::string_view caption, const config::RepetitionGuardConfig& guard);

}  // namespace balcap::rewards
