// Repetition guard (src/rewards/repetition_guard.h).
#include "rewards/repetition_guard.h"

#include "rewards/lexical_text.h"

namespace balcap::rewards {

double repetition_factor(std::string_view caption, std::int64_t ngram) {
  return distinct_ngram_ratio(lexical_words(caption), ngram);
}

double repetition_factor(std::string_view caption, const config::RepetitionGuardConfig& guard) {
  return guard.enabled ? repetition_factor(caption, guard.ngram) : 1.0;
}

}  // namespace balcap::rewards
