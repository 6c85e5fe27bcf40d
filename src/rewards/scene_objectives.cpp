// The scene scorers (src/rewards/scene_objectives.h) and make_scene_objective.
#include "rewards/scene_objectives.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "data/scene_claims.h"
#include "rewards/judge_factories.h"

namespace balcap::rewards {
namespace {

using data::Claim;
using data::ClaimKind;

// The distinct values the caption gives for one thing; the answer when there is exactly one.
std::string only(const std::set<std::string>& values) { return values.size() == 1 ? *values.begin() : ""; }

std::set<std::string> values_of(const data::ParsedCaption& caption, ClaimKind kind, const std::string& colour,
                                const std::string& shape) {
  std::set<std::string> out;
  for (const auto& c : caption.claims) {
    if (c.kind == kind && c.colour == colour && c.shape == shape) out.insert(c.value);
  }
  return out;
}

// Colours the caption gives to `shape` objects (want_colour) or shapes it gives to `colour` ones.
std::set<std::string> mentioned(const data::ParsedCaption& caption, const std::string& colour, const std::string& shape,
                                bool want_colour) {
  std::set<std::string> out;
  auto take = [&](const std::string& c, const std::string& s) {
    if (c.empty()) return;
    if (want_colour && s == shape) out.insert(c);
    if (!want_colour && c == colour) out.insert(s);
  };
  for (const auto& c : caption.claims) {
    take(c.colour, c.shape);
    take(c.colour2, c.shape2);
  }
  return out;
}

// Claim statements that repeat an earlier statement / all claim statements (0 without claims).
double repeated_claims(const data::ParsedCaption& caption) {
  std::set<Claim> seen;
  size_t total = 0, repeated = 0;
  for (const auto& s : caption.sentences) {
    for (const auto& c : s.claims) {
      ++total;
      repeated += !seen.insert(c).second;
    }
  }
  return total == 0 ? 0.0 : static_cast<double>(repeated) / total;
}

class SceneObjective : public Objective {
 public:
  SceneObjective(std::string name, std::string scorer, config::RepetitionGuardConfig guard, bool pointability)
      : name_(std::move(name)), scorer_(std::move(scorer)), guard_(guard), pointability_(pointability) {}

  std::string name() const override { return name_; }

  ObjectiveScores score(const std::vector<ScoredCaption>& captions) override {
    ObjectiveScores out;
    for (const auto& c : captions) {
      double s = score_one(c);
      out.valid.push_back(s >= 0);
      out.score.push_back(std::max(0.0, s));
    }
    return out;
  }

 private:
  // < 0: not scorable (no scene, or qa_accuracy without questions).
  double score_one(const ScoredCaption& c) {
    const data::Record& r = *c.record;
    if (r.scene.is_null()) {
      warn_once(fmt::format("record '{}' (line {}) has no \"scene\"", r.id, r.line));
      return -1;
    }
    data::Scene scene = data::scene_from_json(r.scene);
    data::ParsedCaption caption = data::parse_caption(c.text);
    if (scorer_ == "claim_precision") return scene_claim_precision(scene, caption, pointability_);
    if (scorer_ == "claim_recall") return scene_claim_recall(scene, caption);
    if (scorer_ == "judge_rating") return scene_linguistic(caption, guard_);
    double qa = scene_qa_accuracy(scene, r.qa, caption);
    if (qa < 0) warn_once(fmt::format("record '{}' (line {}) has no questions", r.id, r.line));
    return qa;
  }

  void warn_once(const std::string& what) {
    if (warned_.exchange(true)) return;
    spdlog::warn(
        "objective '{}' (judge: scene, scorer: {}): {}; such captions are scored invalid (left out of the "
        "statistics). The scene judge only scores `balcap data synth` records; use another judge for "
        "other data. (Warned once.)",
        name_, scorer_, what);
  }

  std::string name_, scorer_;
  config::RepetitionGuardConfig guard_;
  bool pointability_;
  std::atomic<bool> warned_{false};
};

}  // namespace

double scene_claim_precision(const data::Scene& scene, const data::ParsedCaption& caption, bool pointability) {
  if (caption.claims.empty()) return 0.0;
  auto right = std::count_if(caption.claims.begin(), caption.claims.end(), [&](const Claim& c) {
    return data::claim_holds(scene, c) && (!pointability || data::claim_pointable(c));
  });
  return static_cast<double>(right) / caption.claims.size();
}

double scene_claim_recall(const data::Scene& scene, const data::ParsedCaption& caption) {
  auto truth = data::scene_claims(scene);
  auto stated = std::count_if(truth.begin(), truth.end(), [&](const Claim& c) {
    return std::find(caption.claims.begin(), caption.claims.end(), c) != caption.claims.end();
  });
  return truth.empty() ? 0.0 : static_cast<double>(stated) / truth.size();
}

std::string scene_answer(const data::SceneQuestion& q, const data::ParsedCaption& caption) {
  if (q.ask == "background") return only(values_of(caption, ClaimKind::kBackgroundColour, "", ""));
  if (q.ask == "count") {
    auto n = only(values_of(caption, ClaimKind::kCount, q.colour, q.shape));
    return n.empty() ? "" : data::number_word(std::stoi(n));
  }
  if (q.ask == "colour") return only(mentioned(caption, "", q.shape, true));
  if (q.ask == "shape") return only(mentioned(caption, q.colour, "", false));
  if (q.ask == "position") return only(values_of(caption, ClaimKind::kPosition, q.colour, q.shape));
  if (q.ask == "size") return only(values_of(caption, ClaimKind::kSize, q.colour, q.shape));
  return "";
}

double scene_qa_accuracy(const data::Scene& scene, const std::vector<data::QaItem>& qa,
                         const data::ParsedCaption& caption) {
  size_t n = std::min(qa.size(), scene.questions.size());
  if (n == 0) return -1.0;
  size_t right = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& item = qa[i];
    auto answer = scene_answer(scene.questions[i], caption);
    right += !answer.empty() && item.answer >= 0 && item.answer < static_cast<std::int64_t>(item.choices.size()) &&
             item.choices[item.answer] == answer;
  }
  return static_cast<double>(right) / n;
}

double scene_linguistic(const data::ParsedCaption& caption, const config::RepetitionGuardConfig& guard) {
  if (caption.sentences.empty()) return 0.0;
  auto good = std::count_if(caption.sentences.begin(), caption.sentences.end(),
                            [](const data::ParsedSentence& s) { return s.grammatical(); });
  double score = static_cast<double>(good) / caption.sentences.size();
  if (guard.enabled) score *= 1.0 - repeated_claims(caption);
  return score;
}

std::unique_ptr<Objective> make_scene_objective(const std::string& objective_name,
                                                const config::ObjectiveConfig& objective,
                                                const config::RewardsConfig& rewards) {
  const std::string& s = objective.scorer;
  BALCAP_CHECK(s == "claim_precision" || s == "claim_recall" || s == "qa_accuracy" || s == "judge_rating",
               "rewards.objectives.{}.scorer = '{}' is not one the scene judge answers\nHINT: claim_precision, "
               "claim_recall, qa_accuracy or judge_rating",
               objective_name, s);
  // The scene is the image's ground truth: `auto` pointability is on, as with image evidence.
  return std::make_unique<SceneObjective>(objective_name, s, rewards.repetition_guard, rewards.pointability != "false");
}

}  // namespace balcap::rewards
