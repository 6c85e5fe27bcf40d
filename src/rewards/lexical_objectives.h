#pragma once
// Private to src/rewards: The `lexical` judge (docs/architecture.md §6): deterministic, dependency-free objectives for tests, the demo
// and cheap sanity signals. Texts are compared as sets of content words (lexical_text.h).
//   claim_precision -> lexical precision: each caption sentence is a claim; its support is the
//     share of its content words found in the evidence (all references plus the record's
//     claims); score = mean support over the caption's claims (no claim -> 0).
//   claim_recall -> lexical recall: reference claims are the record's `claims`, else the
//     references' sentences; each claim's coverage is the share of its content words found in
//     the caption; score = mean coverage.
//   judge_rating -> lexical linguistic: mean of distinct-1 (content words), distinct-2 and
//     distinct-3 (all words); an empty caption scores 0.
//   qa_accuracy: not available (a config error: text matching cannot answer questions).
// A record with nothing to compare with (no references and no claims) gives valid = false.
#include <memory>
#include <string>

#include "rewards/objective.h"

namespace balcap::rewards {

double lexical_precision(std::string_view caption, const data::Record& record);  // < 0: nothing to compare with
double lexical_recall(std::string_view caption, const data::Record& record);     // < 0: nothing to compare with
double lexical_linguistic(std::string_view caption);

// scorer: claim_precision, claim_recall or judge_rating; throws balcap::Error for any other.
std::unique_ptr<Objective> make_lexical_objective(const std::string& objective_name, const std::string& scorer);

}  // namespace balcap::rewards
