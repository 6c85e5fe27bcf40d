// Shared pieces of the judge-backed scorers (src/rewards/judge_questions.h).
#include "rewards/judge_questions.h"

#include <cctype>
#include <cmath>

#include "core/error.h"
#include "core/log.h"

namespace balcap::rewards {

std::string render_template(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::size_t j = i + 1;
    if (text[i] == '{') {
      while (j < text.size() && ((text[j] >= 'a' && text[j] <= 'z') || text[j] == '_')) ++j;
    }
    if (text[i] == '{' && j > i + 1 && j < text.size() && text[j] == '}') {
      std::string name(text.substr(i + 1, j - i - 1));
      auto it = values.find(name);
      BALCAP_CHECK(it != values.end(),
                   "prompt template uses {{{}}}, which this scorer does not fill\n"
                   "HINT: check rewards.prompts against docs/rewards.md",
                   name);
      out += it->second;
      i = j;
    } else {
      out += text[i];
    }
  }
  return out;
}

JudgeRequest judge_request(const ScorerSettings& settings, std::string user, std::string question,
                           std::string assertion) {
  return JudgeRequest{settings.prompts.system, std::move(user), std::nullopt, std::move(question), std::move(assertion)};
}

bool pointability_on(const std::string& setting, const std::string& evidence) {
  if (setting == "auto") return evidence != "reference";
  return setting == "true";
}

const std::vector<std::string>& yes_no_choices() {
  static const std::vector<std::string> choices = {"Yes", "yes", "No", "no"};
  return choices;
}

bool says_yes(const std::vector<double>& row) {
  // Compare in probability space relative to the largest log-probability (no underflow).
  double top = std::max(std::max(row[0], row[1]), std::max(row[2], row[3]));
  if (!std::isfinite(top)) return false;
  double yes = std::exp(row[0] - top) + std::exp(row[1] - top);
  double no = std::exp(row[2] - top) + std::exp(row[3] - top);
  return yes > no;
}

std::vector<std::string> parse_claims(std::string_view text) {
  std::vector<std::string> claims;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    std::size_t b = 0;
    // List markers: bullets, then "12." / "12)" numbering.
    while (b < line.size() && (line[b] == ' ' || line[b] == '\t' || line[b] == '-' || line[b] == '*')) ++b;
    if (line.compare(b, 3, "\xE2\x80\xA2") == 0) b += 3;  // •
    std::size_t d = b;
    while (d < line.size() && std::isdigit(static_cast<unsigned char>(line[d]))) ++d;
    bool marker_end = d + 1 >= line.size() || line[d + 1] == ' ' || line[d + 1] == '\t';  // not "1.5 m"
    if (d > b && d < line.size() && (line[d] == '.' || line[d] == ')') && marker_end) b = d + 1;
    std::size_t e = line.find_last_not_of(" \t\r");
    b = line.find_first_not_of(" \t", b);
    if (b == std::string::npos || e == std::string::npos || e < b) continue;
    claims.push_back(line.substr(b, e - b + 1));
  }
  return claims;
}

std::string joined_references(const data::Record& record) {
  std::string out;
  for (const std::string& r : record.references) out += (out.empty() ? "" : "\n") + r;
  return out;
}

const data::Record& record_of(const ScoredCaption& caption, const std::string& objective) {
  BALCAP_CHECK(caption.record != nullptr,
               "objective '{}': a caption without its record\nHINT: set ScoredCaption::record", objective);
  return *caption.record;
}

void log_judge_failure(const std::string& objective, const JudgeError& error) {
  spdlog::warn("objective '{}': judge failed, scores marked invalid (rewards.on_judge_failure: invalid): {}", objective,
               error.what());
}

}  // namespace balcap::rewards
