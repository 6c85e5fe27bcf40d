// Scorer qa_accuracy (src/rewards/qa_accuracy.h).
#include "rewards/qa_accuracy.h"

#include <fmt/format.h>

#include <numeric>

#include "core/error.h"

namespace balcap::rewards {
namespace {

std::uint64_t fnv1a64(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// One question as the judge sees it, and the letter index of the right answer.
struct ShownQuestion {
  JudgeRequest request;
  std::size_t options = 0;  // letters A.. used (choices + "cannot answer")
  std::size_t correct = 0;
};

std::string letter(std::size_t i) { return std::string(1, static_cast<char>('A' + i)); }

}  // namespace

std::vector<std::size_t> shuffled_choice_order(const std::string& record_id, std::size_t question_index,
                                               std::size_t choice_count) {
  std::vector<std::size_t> order(choice_count);
  std::iota(order.begin(), order.end(), 0);
  std::uint64_t state = fnv1a64(record_id) ^ (0x9E3779B97F4A7C15ULL * (question_index + 1));
  for (std::size_t i = choice_count; i-- > 1;) std::swap(order[i], order[splitmix64(state) % (i + 1)]);
  return order;
}

QaAccuracy::QaAccuracy(std::string name, std::shared_ptr<Judge> judge, ScorerSettings settings)
    : name_(std::move(name)), judge_(std::move(judge)), settings_(std::move(settings)) {}

namespace {

ShownQuestion show(const ScorerSettings& settings, const std::string& objective, const data::Record& record,
                   std::size_t qi, const std::string& caption) {
  const data::QaItem& qa = record.qa[qi];
  BALCAP_CHECK(!qa.choices.empty() && qa.choices.size() < 26 && qa.answer >= 0 &&
                   qa.answer < static_cast<std::int64_t>(qa.choices.size()),
               "objective '{}': record '{}' (line {}) question {} has {} choices and answer {}\n"
               "HINT: each question needs 1-25 choices and an answer index among them (docs/data.md)",
               objective, record.id, record.line, qi, qa.choices.size(), qa.answer);
  std::vector<std::size_t> order = shuffled_choice_order(record.id, qi, qa.choices.size());
  ShownQuestion q;
  std::string options;
  for (std::size_t p = 0; p < order.size(); ++p) {
    options += fmt::format("{}. {}\n", letter(p), qa.choices[order[p]]);
    if (order[p] == static_cast<std::size_t>(qa.answer)) q.correct = p;
  }
  options += fmt::format("{}. {}", letter(order.size()), settings.prompts.qa_cannot_answer);
  q.options = order.size() + 1;
  q.request = judge_request(
      settings,
      render_template(settings.prompts.qa, {{"caption", caption}, {"question", qa.question}, {"options", options}}));
  return q;
}

}  // namespace

ObjectiveScores QaAccuracy::score(const std::vector<ScoredCaption>& captions) {
  const std::size_t n = captions.size();
  ObjectiveScores out{std::vector<double>(n, 0.0), std::vector<bool>(n, false)};
  std::vector<ShownQuestion> shown;
  std::vector<std::size_t> owner;
  std::size_t most_options = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const data::Record& record = record_of(captions[i], name_);
    out.valid[i] = !record.qa.empty();
    for (std::size_t qi = 0; qi < record.qa.size(); ++qi) {
      shown.push_back(show(settings_, name_, record, qi, captions[i].text));
      owner.push_back(i);
      most_options = std::max(most_options, shown.back().options);
    }
  }
  if (shown.empty()) return out;
  // One call with the letters of the longest question; each question reads its own letters.
  std::vector<std::string> letters;
  for (std::size_t p = 0; p < most_options; ++p) letters.push_back(letter(p));
  std::vector<JudgeRequest> requests;
  for (const ShownQuestion& q : shown) requests.push_back(q.request);
  std::vector<std::vector<double>> rows;
  if (!judge_answered(settings_, name_, [&] { rows = judge_->choice_logprobs(requests, letters); })) {
    return ObjectiveScores{std::vector<double>(n, 0.0), std::vector<bool>(n, false)};
  }
  std::vector<std::size_t> questions(n, 0);
  for (std::size_t q = 0; q < shown.size(); ++q) {
    const std::vector<double>& row = rows.at(q);
    std::size_t best = 0;
    for (std::size_t p = 1; p < shown[q].options; ++p) {
      if (row[p] > row[best]) best = p;
    }
    out.score[owner[q]] += best == shown[q].correct ? 1.0 : 0.0;
    ++questions[owner[q]];
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (questions[i] > 0) out.score[i] /= static_cast<double>(questions[i]);
  }
  return out;
}

}  // namespace balcap::rewards
