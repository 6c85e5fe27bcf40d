// The scene judge's scorers on hand-made captions with scores worked out by hand from the
// documented rules (src/rewards/scene_objectives.h), and on the generator's own
// references, which state only true claims.
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "data/scene_questions.h"
#include "data/scene_synth.h"
#include "rewards/build_objectives.h"
#include "rewards/judge_factories.h"
#include "rewards/scene_objectives.h"

namespace balcap::rewards {
namespace {

using data::parse_caption;

// Gray plain background; a small red circle top left; two large blue squares bottom left and
// centre. Its 10 claims: background gray, plain; red: count 1, small, top left; blue: count 2,
// large, bottom left, center; red circle above the blue squares.
data::Scene hand_scene() {
  data::Scene s;
  s.background_colour = "gray";
  s.objects = {
      {"red", "circle", "small", 0, 0, 0}, {"blue", "square", "large", 6, 0, 0}, {"blue", "square", "large", 4, 0, 0}};
  s.questions = {{"count", "blue", "square"}, {"position", "red", "circle"}, {"background", "", ""}};
  return s;
}

std::vector<data::QaItem> hand_qa() {
  return {{"How many blue squares are there?", {"one", "two", "three", "four"}, 1},
          {"Where is the red circle?", {"center", "top left", "right", "bottom"}, 1},
          {"What colour is the background?", {"white", "gray", "black"}, 1}};
}

data::Record hand_record() {
  data::Record r;
  r.id = "hand";
  r.scene = data::scene_to_json(hand_scene());
  r.qa = hand_qa();
  return r;
}

config::RepetitionGuardConfig guard_on() { return {.enabled = true, .ngram = 3}; }

TEST(SceneObjectives, TrueEnumerationHasFullPrecisionAndHalfRecall) {
  auto c = parse_caption("There is a small red circle in the top left and two large blue squares.");
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), c, true), 1.0);      // 5 claims, all true
  EXPECT_DOUBLE_EQ(scene_claim_recall(hand_scene(), c), 5.0 / 10.0);  // 5 of the 10
}

TEST(SceneObjectives, FalseClaimsLowerPrecisionAndTrueOnesStillCount) {
  // green circle count (false), its size (false: no green circle), background gray (true)
  auto c = parse_caption("There is a small green circle. The background is gray.");
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), c, true), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(scene_claim_recall(hand_scene(), c), 1.0 / 10.0);
  // Wrong count and wrong place for objects that exist.
  auto wrong = parse_caption("There are three blue squares. The red circle is in the center.");
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), wrong, true), 0.0);
}

TEST(SceneObjectives, RelationsCountInEitherDirectionAndRepeatsCountOnce) {
  auto c = parse_caption("The blue squares are below the red circle. The red circle is above the blue squares.");
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), c, true), 1.0);
  EXPECT_DOUBLE_EQ(scene_claim_recall(hand_scene(), c), 1.0 / 10.0);
  // "left of" is false: the lower-left square shares the circle's column.
  auto left = parse_caption("The red circle is to the left of the blue squares.");
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), left, true), 0.0);
}

// BalCapRL's precision on a hand-made caption: 2 pointable true claims (the red circle's count and
// place), 1 false claim (a green triangle is not in the scene), 1 commentary ("the mood is calm":
// true of nothing, pointable to nothing). With pointability: 2 / 4; without: the commentary passes the
// truth test alone, 3 / 4.
TEST(SceneObjectives, PrecisionCountsOnlyTrueAndPointableAssertions) {
  auto c = parse_caption("There is a red circle in the top left. There is a green triangle. The mood is calm.");
  ASSERT_EQ(c.claims.size(), 4u);
  EXPECT_EQ(c.claims.back().kind, data::ClaimKind::kCommentary);
  EXPECT_TRUE(c.sentences.back().grammatical());
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), c, true), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), c, false), 3.0 / 4.0);
  // Commentary states none of the scene's claims: recall does not move.
  EXPECT_DOUBLE_EQ(scene_claim_recall(hand_scene(), c), 2.0 / 10.0);
  // Pure commentary: 0 with the test, 1 without (what the policy learns to write in the ablation).
  auto only = parse_caption("The scene feels very calm. The composition looks balanced.");
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), only, true), 0.0);
  EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), only, false), 1.0);
}

// rewards.pointability reaches the scene scorer: auto (on) and false.
TEST(SceneObjectives, PointabilitySwitchTurnsTheTestOff) {
  config::RewardsConfig rewards;
  config::ObjectiveConfig precision;
  precision.scorer = "claim_precision";
  precision.judge = "scene";
  data::Record r = hand_record();
  const std::vector<ScoredCaption> captions{{&r, "There is a red circle. The mood is calm.", 8}};
  EXPECT_DOUBLE_EQ(make_scene_objective("correctness", precision, rewards)->score(captions).score[0], 0.5);
  rewards.pointability = "false";
  EXPECT_DOUBLE_EQ(make_scene_objective("correctness", precision, rewards)->score(captions).score[0], 1.0);
}

TEST(SceneObjectives, EmptyOrClaimlessCaptionScoresZero) {
  for (const char* text : {"", "A photo of something nice."}) {
    auto c = parse_caption(text);
    EXPECT_DOUBLE_EQ(scene_claim_precision(hand_scene(), c, true), 0.0) << text;
    EXPECT_DOUBLE_EQ(scene_claim_recall(hand_scene(), c), 0.0) << text;
  }
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption(""), guard_on()), 0.0);
}

TEST(SceneObjectives, QaIsAnsweredFromTheCaptionAloneAndOpenOrConflictingAnswersAreWrong) {
  auto s = hand_scene();
  auto full = parse_caption(
      "There is a small red circle in the top left and two large blue squares on a gray "
      "background.");
  EXPECT_DOUBLE_EQ(scene_qa_accuracy(s, hand_qa(), full), 1.0);
  EXPECT_DOUBLE_EQ(scene_qa_accuracy(s, hand_qa(), parse_caption("There are two blue squares.")), 1.0 / 3.0);
  auto conflicting = parse_caption("There are two blue squares. There are three blue squares.");
  EXPECT_EQ(scene_answer(s.questions[0], conflicting), "");
  EXPECT_DOUBLE_EQ(scene_qa_accuracy(s, hand_qa(), conflicting), 0.0);
  auto wrong = parse_caption("The red circle is at the bottom. The background is black.");
  EXPECT_DOUBLE_EQ(scene_qa_accuracy(s, hand_qa(), wrong), 0.0);
  EXPECT_LT(scene_qa_accuracy(s, {}, full), 0.0);
  // colour / shape questions read any mention of the object
  EXPECT_EQ(scene_answer({"colour", "", "circle"}, parse_caption("The red circle is small.")), "red");
  EXPECT_EQ(scene_answer({"shape", "blue", ""}, parse_caption("The red circle is above the blue squares.")), "square");
}

TEST(SceneObjectives, LinguisticScoreIsTheGrammaticalShareTimesTheClaimRepetitionFactor) {
  auto g = guard_on();
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("There is a small red circle."), g), 1.0);
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("there is a small red circle"), g), 0.0);
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("There are a small red circle."), g), 0.0);
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("There is a small red circle. It is lovely."), g), 0.5);
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("There is a small red circle. There is a small red circ"), g), 0.5);
  // the count claim stated three times: 2 of 3 statements repeat -> 1/3
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("A red circle, a red circle, a red circle."), g), 1.0 / 3.0);
  // count and size stated twice: 2 of 4 statements repeat -> 1/2
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("There is a small red circle. There is a small red circle."), g),
                   0.5);
  // Lists that repeat n-grams but no claim are not penalised.
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("Two small purple squares, two small purple diamonds."), g), 1.0);
  config::RepetitionGuardConfig off;
  off.enabled = false;
  EXPECT_DOUBLE_EQ(scene_linguistic(parse_caption("A red circle, a red circle, a red circle."), off), 1.0);
}

TEST(SceneObjectives, GeneratedReferencesScoreFullMarksOnEveryScorer) {
  for (std::int64_t i = 0; i < 100; ++i) {
    auto s = data::random_scene(21, data::SynthSplit::kTrain, i, 84);
    data::SplitMix64 rng(i);
    auto qa = data::make_questions(s, rng);
    auto refs = data::scene_references(s);
    for (const auto& r : refs) {
      auto c = parse_caption(r);
      EXPECT_DOUBLE_EQ(scene_claim_precision(s, c, false), 1.0) << r;
      EXPECT_DOUBLE_EQ(scene_linguistic(c, guard_on()), 1.0) << r;
    }
    // The paragraph's commentary (about one scene in three) is its one assertion that is not pointable.
    auto paragraph_claims = parse_caption(refs[2]).claims.size();
    const double pointable_share = data::scene_commentary(s).empty() ? 1.0 : 1.0 - 1.0 / paragraph_claims;
    EXPECT_DOUBLE_EQ(scene_claim_precision(s, parse_caption(refs[2]), true), pointable_share) << refs[2];
    auto paragraph = parse_caption(refs[2]);
    EXPECT_DOUBLE_EQ(scene_claim_recall(s, paragraph), 1.0) << refs[2];
    EXPECT_DOUBLE_EQ(scene_qa_accuracy(s, qa, paragraph), 1.0) << refs[2];
  }
}

TEST(SceneObjectives, FactoryObjectivesScoreBatchesAndMarkRecordsWithoutASceneInvalid) {
  config::RewardsConfig rewards;
  config::ObjectiveConfig precision;
  precision.scorer = "claim_precision";
  precision.judge = "scene";
  auto objective = make_scene_objective("correctness", precision, rewards);
  EXPECT_EQ(objective->name(), "correctness");
  data::Record with = hand_record(), without;
  without.id = "photo";
  auto scores = objective->score({{&with, "There is a small green circle. The background is gray.", 12},
                                  {&without, "There is a red circle.", 5},
                                  {&with, "There are two large blue squares.", 6}});
  EXPECT_EQ(scores.valid, (std::vector<bool>{true, false, true}));
  EXPECT_DOUBLE_EQ(scores.score[0], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(scores.score[1], 0.0);
  EXPECT_DOUBLE_EQ(scores.score[2], 1.0);

  config::ObjectiveConfig qa = precision;
  qa.scorer = "qa_accuracy";
  auto qa_objective = make_scene_objective("utility", qa, rewards);
  data::Record no_questions = hand_record();
  no_questions.qa.clear();
  auto qa_scores = qa_objective->score({{&with, "There are two blue squares.", 5}, {&no_questions, "x", 1}});
  EXPECT_EQ(qa_scores.valid, (std::vector<bool>{true, false}));
  EXPECT_DOUBLE_EQ(qa_scores.score[0], 1.0 / 3.0);

  config::ObjectiveConfig bad = precision;
  bad.scorer = "bleu";
  EXPECT_THROW(make_scene_objective("x", bad, rewards), Error);
}

TEST(SceneObjectives, DemoStyleConfigBuildsTheThreeSceneObjectivesThroughBuildObjectives) {
  config::RewardsConfig rewards;
  rewards.judges = {{"scene", config::JudgeConfig::defaults_for("scene")}};
  for (auto& [name, objective] : rewards.objectives) objective.judge = "scene";
  auto objectives = build_objectives(rewards, at::kCPU);
  ASSERT_EQ(objectives.size(), 3u);
  data::Record r = hand_record();
  const std::string text = "There is a small red circle in the top left and two large blue squares.";
  std::map<std::string, double> got;
  for (auto& o : objectives) got[o->name()] = o->score({{&r, text, 14}}).score.at(0);
  EXPECT_DOUBLE_EQ(got["correctness"], 1.0);
  EXPECT_DOUBLE_EQ(got["coverage"], 0.5);
  EXPECT_DOUBLE_EQ(got["linguistic"], 1.0);
}

}  // namespace
}  // namespace balcap::rewards
