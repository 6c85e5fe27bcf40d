#pragma once
// `balcap eval --compare A B`: two evaluations side by side (eval reports, or checkpoints the CLI
// evaluates first) and the captions that changed most between them.
//   scorecards  A's and B's (eval_scorecard.h) and B - A per row
//   changed     captions of the same (id, member) in both reports that both have a b-CapScore,
//               ordered by |b_B - b_A| (larger first; ties by id, then member), the first `top`
//   matched     how many (id, member) pairs had a b-CapScore in both
// Printed (format_comparison):
//                          A          B      B - A
//   precision         0.3880     0.4380    +0.0500
//   ...
//   captions that changed most (b-CapScore B - A), 5 of 64 matched:
//   -0.4231  eval-000003 #0
//       A 0.6120  a small purple square ...
//       B 0.1889  two large purple diamonds ...
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/eval_scorecard.h"

namespace balcap::train {

struct ChangedCaption {
  std::string id;
  std::int64_t member = 0;
  std::string caption_a, caption_b;
  double b_capscore_a = 0, b_capscore_b = 0;
};

struct EvalComparison {
  std::string source_a, source_b;  // what was compared (paths), for the printout
  Scorecard a, b;
  std::vector<ChangedCaption> changed;
  std::int64_t matched = 0;
};

// From two eval reports (their JSON, as `to_json(EvalReport)` writes it). A report without
// "samples" -> balcap::Error naming `source_a` / `source_b`.
EvalComparison compare_reports(const nlohmann::json& a, const std::string& source_a, const nlohmann::json& b,
                               const std::string& source_b, std::int64_t top);

// {"a": {"source", "scorecard"}, "b": {...}, "delta": {row: B - A or null}, "matched",
//  "changed": [{"id", "member", "a": {"caption", "b_capscore"}, "b": {...}, "delta"}]}
nlohmann::json to_json(const EvalComparison& comparison);
std::string format_comparison(const EvalComparison& comparison);

}  // namespace balcap::train
