// Placeholder checks of the judge prompt templates (src/config/prompts.h).
#include "config/prompts.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace balcap::config {

std::vector<std::string> template_placeholders(std::string_view text) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    std::size_t j = i + 1;
    while (j < text.size() && ((text[j] >= 'a' && text[j] <= 'z') || text[j] == '_')) ++j;
    if (j > i + 1 && j < text.size() && text[j] == '}') {
      names.emplace_back(text.substr(i + 1, j - i - 1));
      i = j;
    }
  }
  return names;
}

namespace {

void check(std::vector<PromptProblem>& problems, const char* field, const std::string& text,
           const std::set<std::string>& wanted) {
  std::vector<std::string> found = template_placeholders(text);
  std::set<std::string> seen(found.begin(), found.end());
  std::string key = std::string("rewards.prompts.") + field;
  std::string expected = wanted.empty() ? std::string("none") : fmt::format("{{{}}}", fmt::join(wanted, "}, {"));
  for (const std::string& name : seen) {
    if (!wanted.count(name)) {
      problems.push_back({key, fmt::format("'{}' uses the unknown placeholder {{{}}}: this template takes {} "
                                           "(HINT: fix the spelling, or write the text without braces)",
                                           key, name, expected)});
    }
  }
  for (const std::string& name : wanted) {
    if (!seen.count(name)) {
      problems.push_back(
          {key, fmt::format("'{}' lacks the placeholder {{{}}}: this template takes {}", key, name, expected)});
    }
  }
}

}  // namespace

std::vector<PromptProblem> prompt_problems(const PromptsConfig& p) {
  std::vector<PromptProblem> problems;
  check(problems, "system", p.system, {});
  check(problems, "claim_split", p.claim_split, {"caption"});
  check(problems, "verify_image", p.verify_image, {"claim"});
  check(problems, "pointable", p.pointable, {"claim"});
  check(problems, "verify_reference", p.verify_reference, {"reference", "claim"});
  check(problems, "verify_both", p.verify_both, {"reference", "claim"});
  check(problems, "claim_support", p.claim_support, {"caption", "claim"});
  check(problems, "qa", p.qa, {"caption", "question", "options"});
  check(problems, "qa_cannot_answer", p.qa_cannot_answer, {});
  check(problems, "rating", p.rating, {"caption", "aspect"});
  return problems;
}

}  // namespace balcap::config
