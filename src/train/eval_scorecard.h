#pragma once
// The scorecard of an evaluation (`balcap eval`): BalCapRL's three objectives, their b-CapScore,
// QA accuracy and length, by role rather than by objective name, so two reports made with
// different objective names still line up (`balcap eval --compare`, eval_compare.h).
//   precision   mean claim_precision score (valid scores only; nullopt when none)
//   coverage    mean claim_recall score
//   linguistic  mean judge_rating score
//   b_capscore  harmonic mean of the three (EvalReport::b_capscore; nullopt without the three roles)
//   qa_accuracy EvalReport::qa_accuracy (nullopt when no record carries questions)
//   length_ratio, caption_tokens_mean, images, captions: as in EvalReport
// The report's "scorecard" key holds it; the printed table (format_scorecard):
//   precision              0.5833
//   coverage               0.2000
//   linguistic             1.0000
//   b-CapScore             0.3889
//   QA accuracy            0.3333
//   length ratio           0.500
//   caption tokens (mean)  9.3
//   images: 1, captions: 3
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "train/evaluate.h"

namespace balcap::train {

struct Scorecard {
  std::optional<double> precision, coverage, linguistic, b_capscore, qa_accuracy;
  double length_ratio = 0;
  double caption_tokens_mean = 0;
  std::int64_t images = 0, captions = 0;
};

Scorecard make_scorecard(const EvalReport& report);

nlohmann::json to_json(const Scorecard& card);
// From an eval report's JSON: its "scorecard", or for a report written before the scorecard existed,
// the top-level correctness / coverage / linguistic / b_capscore / length_ratio / caption_tokens_mean.
// `source` names the file in errors.
Scorecard scorecard_from_report(const nlohmann::json& report, const std::string& source);

// One printed row: label, value (nullopt prints "n/a") and its decimals.
struct ScorecardRow {
  std::string label;
  std::optional<double> value;
  int decimals = 4;
};
std::vector<ScorecardRow> scorecard_rows(const Scorecard& card);

// "n/a" or the value with `decimals` digits.
std::string format_value(const std::optional<double>& value, int decimals);
// The table, one row per line, then a line with the image and caption counts.
std::string format_scorecard(const Scorecard& card);

}  // namespace balcap::train
