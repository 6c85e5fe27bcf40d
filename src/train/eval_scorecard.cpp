// The eval scorecard; see src/train/eval_scorecard.h.
#include "train/eval_scorecard.h"

#include <set>

#include "core/error.h"
#include "core/log.h"
#include "rewards/b_capscore.h"

namespace balcap::train {

namespace {

// Mean of `objective`'s valid scores over the samples; nullopt for no objective or no valid score.
std::optional<double> role_mean(const EvalReport& report, const std::string& objective) {
  if (objective.empty()) return std::nullopt;
  double sum = 0;
  std::int64_t n = 0;
  for (const EvalSample& s : report.samples) {
    const auto it = s.scores.find(objective);
    if (it != s.scores.end() && it->second) sum += *it->second, ++n;
  }
  return n > 0 ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt;
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// A number or null under `key` of `j` (absent = null); anything else -> error naming the file.
std::optional<double> optional_number(const nlohmann::json& j, const std::string& key, const std::string& source) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  BALCAP_CHECK(j.at(key).is_number(),
               "{}: \"{}\" is {}, not a number. HINT: pass a report written by `balcap eval --out`.", source, key,
               j.at(key).dump());
  return j.at(key).get<double>();
}

// A report written before the "scorecard" key: its top-level numbers under the demo's objective names
// (correctness, coverage, linguistic); one from before b-CapScore gets it from those three.
Scorecard legacy_scorecard(const nlohmann::json& report, const std::string& source) {
  Scorecard c;
  c.precision = optional_number(report, "correctness", source);
  c.coverage = optional_number(report, "coverage", source);
  c.linguistic = optional_number(report, "linguistic", source);
  c.b_capscore = optional_number(report, "b_capscore", source);
  if (!report.contains("b_capscore") && c.precision && c.coverage && c.linguistic) {  // written before b-CapScore
    c.b_capscore = rewards::b_capscore(*c.precision, *c.coverage, *c.linguistic);
  }
  c.qa_accuracy = optional_number(report, "qa_accuracy", source);
  c.length_ratio = optional_number(report, "length_ratio", source).value_or(0.0);
  c.caption_tokens_mean = optional_number(report, "caption_tokens_mean", source).value_or(0.0);
  std::set<std::string> ids;
  for (const auto& s : report.value("samples", nlohmann::json::array())) ids.insert(s.value("id", ""));
  c.images = static_cast<std::int64_t>(ids.size());
  c.captions = static_cast<std::int64_t>(report.value("samples", nlohmann::json::array()).size());
  return c;
}

}  // namespace

Scorecard make_scorecard(const EvalReport& report) {
  Scorecard c;
  c.precision = role_mean(report, report.roles.precision);
  c.coverage = role_mean(report, report.roles.recall);
  c.linguistic = role_mean(report, report.roles.linguistic);
  c.b_capscore = report.b_capscore;
  c.qa_accuracy = report.qa_accuracy;
  c.length_ratio = report.length_ratio;
  c.caption_tokens_mean = report.caption_tokens_mean;
  c.images = report.images;
  c.captions = static_cast<std::int64_t>(report.samples.size());
  return c;
}

nlohmann::json to_json(const Scorecard& c) {
  return {{"precision", optional_json(c.precision)},
          {"coverage", optional_json(c.coverage)},
          {"linguistic", optional_json(c.linguistic)},
          {"b_capscore", optional_json(c.b_capscore)},
          {"qa_accuracy", optional_json(c.qa_accuracy)},
          {"length_ratio", c.length_ratio},
          {"caption_tokens_mean", c.caption_tokens_mean},
          {"images", c.images},
          {"captions", c.captions}};
}

Scorecard scorecard_from_report(const nlohmann::json& report, const std::string& source) {
  BALCAP_CHECK(report.is_object(), "{}: not a JSON object. HINT: pass a report written by `balcap eval --out`.",
               source);
  if (!report.contains("scorecard")) return legacy_scorecard(report, source);
  const nlohmann::json& j = report.at("scorecard");
  BALCAP_CHECK(j.is_object(), "{}: \"scorecard\" is not an object. HINT: pass a report written by `balcap eval --out`.",
               source);
  Scorecard c;
  c.precision = optional_number(j, "precision", source);
  c.coverage = optional_number(j, "coverage", source);
  c.linguistic = optional_number(j, "linguistic", source);
  c.b_capscore = optional_number(j, "b_capscore", source);
  c.qa_accuracy = optional_number(j, "qa_accuracy", source);
  c.length_ratio = optional_number(j, "length_ratio", source).value_or(0.0);
  c.caption_tokens_mean = optional_number(j, "caption_tokens_mean", source).value_or(0.0);
  c.images = static_cast<std::int64_t>(optional_number(j, "images", source).value_or(0.0));
  c.captions = static_cast<std::int64_t>(optional_number(j, "captions", source).value_or(0.0));
  return c;
}

std::vector<ScorecardRow> scorecard_rows(const Scorecard& c) {
  return {{"precision", c.precision, 4},
          {"coverage", c.coverage, 4},
          {"linguistic", c.linguistic, 4},
          {"b-CapScore", c.b_capscore, 4},
          {"QA accuracy", c.qa_accuracy, 4},
          {"length ratio", c.length_ratio, 3},
          {"caption tokens (mean)", c.caption_tokens_mean, 1}};
}

std::string format_value(const std::optional<double>& value, int decimals) {
  return value ? fmt::format("{:.{}f}", *value, decimals) : "n/a";
}

std::string format_scorecard(const Scorecard& c) {
  std::string out;
  for (const ScorecardRow& row : scorecard_rows(c)) {
    out += fmt::format("  {:<23}{:>8}\n", row.label, format_value(row.value, row.decimals));
  }
  out += fmt::format("  images: {}, captions: {}\n", c.images, c.captions);
  return out;
}

}  // namespace balcap::train
