// The lexical judge's objectives (src/rewards/lexical_objectives.h).
#include "rewards/lexical_objectives.h"

#include <functional>

#include "core/error.h"
#include "rewards/lexical_text.h"

namespace balcap::rewards {
namespace {

using WordSet = std::set<std::string>;

// |a ∩ b| / |a|
double share_found(const WordSet& a, const WordSet& b) {
  std::size_t found = 0;
  for (const std::string& w : a) found += b.count(w);
  return static_cast<double>(found) / static_cast<double>(a.size());
}

// Content-word sets of the sentences of `text`, skipping sentences without content words.
std::vector<WordSet> claims_of(std::string_view text) {
  std::vector<WordSet> claims;
  for (const std::string& s : lexical_sentences(text)) {
    WordSet c = content_words(s);
    if (!c.empty()) claims.push_back(std::move(c));
  }
  return claims;
}

double mean_share(const std::vector<WordSet>& claims, const WordSet& evidence) {
  double sum = 0;
  for (const WordSet& c : claims) sum += share_found(c, evidence);
  return sum / static_cast<double>(claims.size());
}

class LexicalObjective final : public Objective {
 public:
  using Scorer = std::function<double(std::string_view, const data::Record&)>;
  LexicalObjective(std::string name, Scorer scorer) : name_(std::move(name)), scorer_(std::move(scorer)) {}
  std::string name() const override { return name_; }
  ObjectiveScores score(const std::vector<ScoredCaption>& captions) override {
    ObjectiveScores out;
    for (const ScoredCaption& c : captions) {
      BALCAP_CHECK(c.record != nullptr, "objective '{}': a caption without its record\nHINT: set ScoredCaption::record",
                   name_);
      double s = scorer_(c.text, *c.record);
      out.valid.push_back(s >= 0);
      out.score.push_back(s >= 0 ? s : 0.0);
    }
    return out;
  }

 private:
  std::string name_;
  Scorer scorer_;
};

}  // namespace

double lexical_precision(std::string_view caption, const data::Record& record) {
  WordSet evidence;
  for (const std::string& r : record.references) evidence.merge(content_words(r));
  for (const std::string& c : record.claims) evidence.merge(content_words(c));
  if (record.references.empty() && record.claims.empty()) return -1;
  std::vector<WordSet> claims = claims_of(caption);
  return claims.empty() ? 0.0 : mean_share(claims, evidence);
}

double lexical_recall(std::string_view caption, const data::Record& record) {
  std::vector<WordSet> reference_claims;
  if (!record.claims.empty()) {
    for (const std::string& c : record.claims) {
      WordSet words = content_words(c);
      if (!words.empty()) reference_claims.push_back(std::move(words));
    }
  } else {
    for (const std::string& r : record.references) {
      for (WordSet& c : claims_of(r)) reference_claims.push_back(std::move(c));
    }
  }
  if (reference_claims.empty()) return -1;
  return mean_share(reference_claims, content_words(caption));
}

double lexical_linguistic(std::string_view caption) {
  std::vector<std::string> words = lexical_words(caption);
  if (words.empty()) return 0.0;
  std::vector<std::string> content;
  for (const std::string& w : words) {
    if (!is_stop_word(w)) content.push_back(lexical_stem(w));
  }
  return (distinct_ngram_ratio(content, 1) + distinct_ngram_ratio(words, 2) + distinct_ngram_ratio(words, 3)) / 3.0;
}

std::unique_ptr<Objective> make_lexical_objective(const std::string& objective_name, const std::string& scorer) {
  if (scorer == "claim_precision") return std::make_unique<LexicalObjective>(objective_name, lexical_precision);
  if (scorer == "claim_recall") return std::make_unique<LexicalObjective>(objective_name, lexical_recall);
  if (scorer == "judge_rating") {
    return std::make_unique<LexicalObjective>(
        objective_name, [](std::string_view c, const data::Record&) { return lexical_linguistic(c); });
  }
  fail(
      "rewards.objectives.{}: scorer '{}' cannot run on the lexical judge (text matching cannot answer "
      "questions)\nHINT: use a local or remote judge for qa_accuracy, or scorer claim_precision / claim_recall / "
      "judge_rating with the lexical judge",
      objective_name, scorer);
}

}  // namespace balcap::rewards
