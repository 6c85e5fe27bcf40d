// Two evaluations side by side; see src/train/eval_compare.h.
#include "train/eval_compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "core/error.h"
#include "core/log.h"
#include "rewards/b_capscore.h"

namespace balcap::train {

namespace {

struct SampleScore {
  std::string caption;
  double b_capscore = 0;
};
using SampleKey = std::pair<std::string, std::int64_t>;  // (id, member)

// A sample's b-CapScore; a sample written before b-CapScore existed gets it from its scores under the
// demo's objective names (correctness, coverage, linguistic).
std::optional<double> sample_b_capscore(const nlohmann::json& s) {
  if (s.contains("b_capscore")) {
    return s.at("b_capscore").is_number() ? std::optional<double>(s.at("b_capscore").get<double>()) : std::nullopt;
  }
  const nlohmann::json scores = s.value("scores", nlohmann::json::object());
  const auto number = [&](const char* key) { return scores.contains(key) && scores.at(key).is_number(); };
  if (!number("correctness") || !number("coverage") || !number("linguistic")) return std::nullopt;
  return rewards::b_capscore(scores.at("correctness").get<double>(), scores.at("coverage").get<double>(),
                             scores.at("linguistic").get<double>());
}

// The samples of a report that have a b-CapScore, by (id, member).
std::map<SampleKey, SampleScore> scored_samples(const nlohmann::json& report, const std::string& source) {
  BALCAP_CHECK(report.is_object() && report.contains("samples") && report.at("samples").is_array(),
               "{}: no \"samples\" list. HINT: pass a report written by `balcap eval --out` (or a checkpoint "
               "directory).",
               source);
  std::map<SampleKey, SampleScore> out;
  for (const nlohmann::json& s : report.at("samples")) {
    const std::optional<double> b = sample_b_capscore(s);
    if (b) out[{s.value("id", ""), s.value("member", std::int64_t{0})}] = {s.value("caption", ""), *b};
  }
  return out;
}

std::optional<double> difference(const std::optional<double>& a, const std::optional<double>& b) {
  return a && b ? std::optional<double>(*b - *a) : std::nullopt;
}

std::string signed_value(const std::optional<double>& v, int decimals) {
  return v ? fmt::format("{:+.{}f}", *v, decimals) : "n/a";
}

// A caption on one printed line (its line breaks as spaces).
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

std::string table(const EvalComparison& c) {
  std::string out = fmt::format("  A: {}\n  B: {}\n", c.source_a, c.source_b);
  out += fmt::format("  {:<23}{:>10}{:>10}{:>10}\n", "", "A", "B", "B - A");
  const auto rows_a = scorecard_rows(c.a), rows_b = scorecard_rows(c.b);
  for (std::size_t i = 0; i < rows_a.size(); ++i) {
    const int d = rows_a[i].decimals;
    out += fmt::format("  {:<23}{:>10}{:>10}{:>10}\n", rows_a[i].label, format_value(rows_a[i].value, d),
                       format_value(rows_b[i].value, d), signed_value(difference(rows_a[i].value, rows_b[i].value), d));
  }
  out += fmt::format("  {:<23}{:>10}{:>10}\n", "images / captions", fmt::format("{}/{}", c.a.images, c.a.captions),
                     fmt::format("{}/{}", c.b.images, c.b.captions));
  return out;
}

}  // namespace

EvalComparison compare_reports(const nlohmann::json& a, const std::string& source_a, const nlohmann::json& b,
                               const std::string& source_b, std::int64_t top) {
  EvalComparison c;
  c.source_a = source_a;
  c.source_b = source_b;
  c.a = scorecard_from_report(a, source_a);
  c.b = scorecard_from_report(b, source_b);
  const auto sa = scored_samples(a, source_a), sb = scored_samples(b, source_b);
  for (const auto& [key, x] : sa) {
    const auto it = sb.find(key);
    if (it == sb.end()) continue;
    c.changed.push_back({key.first, key.second, x.caption, it->second.caption, x.b_capscore, it->second.b_capscore});
  }
  c.matched = static_cast<std::int64_t>(c.changed.size());
  // sa is ordered by (id, member), so a stable sort on |delta| breaks ties by id, then member.
  std::stable_sort(c.changed.begin(), c.changed.end(), [](const ChangedCaption& x, const ChangedCaption& y) {
    return std::abs(x.b_capscore_b - x.b_capscore_a) > std::abs(y.b_capscore_b - y.b_capscore_a);
  });
  if (static_cast<std::int64_t>(c.changed.size()) > std::max<std::int64_t>(top, 0))
    c.changed.resize(std::max<std::int64_t>(top, 0));
  return c;
}

nlohmann::json to_json(const EvalComparison& c) {
  nlohmann::json delta = nlohmann::json::object();
  const nlohmann::json ja = to_json(c.a), jb = to_json(c.b);
  for (const auto& [key, va] : ja.items()) {
    const nlohmann::json& vb = jb.at(key);
    delta[key] = va.is_number() && vb.is_number() ? nlohmann::json(vb.get<double>() - va.get<double>())
                                                  : nlohmann::json(nullptr);
  }
  nlohmann::json changed = nlohmann::json::array();
  for (const ChangedCaption& x : c.changed) {
    changed.push_back({{"id", x.id},
                       {"member", x.member},
                       {"a", {{"caption", x.caption_a}, {"b_capscore", x.b_capscore_a}}},
                       {"b", {{"caption", x.caption_b}, {"b_capscore", x.b_capscore_b}}},
                       {"delta", x.b_capscore_b - x.b_capscore_a}});
  }
  return {{"a", {{"source", c.source_a}, {"scorecard", ja}}},
          {"b", {{"source", c.source_b}, {"scorecard", jb}}},
          {"delta", delta},
          {"matched", c.matched},
          {"changed", changed}};
}

std::string format_comparison(const EvalComparison& c) {
  std::string out = table(c);
  out += fmt::format("\n  captions that changed most (b-CapScore B - A), {} of {} matched:\n", c.changed.size(),
                     c.matched);
  for (const ChangedCaption& x : c.changed) {
    out += fmt::format("  {:+.4f}  {} #{}\n", x.b_capscore_b - x.b_capscore_a, x.id, x.member);
    out += fmt::format("      A {:.4f}  {}\n", x.b_capscore_a, one_line(x.caption_a));
    out += fmt::format("      B {:.4f}  {}\n", x.b_capscore_b, one_line(x.caption_b));
  }
  if (c.matched == 0) out += "  (no caption has a b-CapScore in both reports)\n";
  return out;
}

}  // namespace balcap::train
