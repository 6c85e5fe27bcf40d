#include "diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/error.h"

namespace balcap::config::detail {

std::string Diagnostics::location_of(std::string path) const {
  while (!path.empty()) {
    auto it = locations.find(path);
    if (it != locations.end()) return it->second;
    auto dot = path.rfind('.');
    path = dot == std::string::npos ? std::string() : path.substr(0, dot);
  }
  return "";
}

void Diagnostics::throw_if_any() const {
  if (problems.empty()) return;
  std::string message =
      fmt::format("config {}: {} problem{}:", source, problems.size(), problems.size() == 1 ? "" : "s");
  for (const auto& p : problems) message += "\n  - " + p;
  message +=
      "\nHINT: fix the keys above; `balcap config docs` (docs/config.md) lists every key with its "
      "type, default and allowed values.";
  throw Error(message);
}

namespace {

// Levenshtein distance, O(|a| |b|) with one row; keys are short.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string unknown_key_message(const std::string& full_key, const std::string& closest_full_key) {
  // Keys of earlier balcap versions: a config written for one gets told what the key is now.
  static const std::map<std::string, std::string> kFormerKeys{
      {"train.max_bad_steps", "renamed to 'train.max_skipped_steps' (the same meaning)"},
      {"logging.log_judge_calls", "removed (it was never read): set 'rewards.log_judge_calls' to a file path"},
      {"logging.metrics_jsonl", "removed (it was never read): run_dir/metrics.jsonl is always written"},
  };
  if (auto it = kFormerKeys.find(full_key); it != kFormerKeys.end()) {
    return fmt::format("unknown key '{}': {}", full_key, it->second);
  }
  return fmt::format("unknown key '{}'{}", full_key,
                     closest_full_key.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", closest_full_key));
}

std::string closest_key(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // Accept up to a third of the word mistyped (at least 2 edits), or a prefix/suffix match.
  std::size_t budget = std::max<std::size_t>(2, word.size() / 3);
  if (best_distance <= budget) return best;
  for (const auto& c : candidates) {
    if (c.size() >= 4 && word.size() >= 4 && (c.find(word) != std::string::npos || word.find(c) != std::string::npos)) {
      return c;
    }
  }
  return "";
}

}  // namespace balcap::config::detail
