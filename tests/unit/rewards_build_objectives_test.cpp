// Objectives built from the rewards config: kinds dispatched, names kept, impossible pairs refused.
#include <gtest/gtest.h>

#include "config/demo_config.h"
#include "core/error.h"
#include "rewards/build_objectives.h"
#include "rewards/score_captions.h"

namespace balcap::rewards {
namespace {

std::vector<std::string> names_of(const std::vector<std::unique_ptr<Objective>>& objectives) {
  std::vector<std::string> names;
  for (const auto& o : objectives) names.push_back(o->name());
  return names;
}

TEST(BuildObjectives, DefaultConfigBuildsTheThreeLexicalObjectives) {
  config::RewardsConfig rewards;  // correctness, coverage, linguistic on the lexical judge
  auto objectives = build_objectives(rewards, at::kCPU);
  EXPECT_EQ(names_of(objectives), (std::vector<std::string>{"correctness", "coverage", "linguistic"}));
  data::Record r;
  r.id = "a";
  r.references = {"A brown dog runs on the grass."};
  RewardMatrix m = score_captions(objectives, {{&r, "A brown dog runs. A red ball.", 8}, {&r, "", 0}});
  EXPECT_EQ(m.objectives, names_of(objectives));
  // correctness: {brown, dog, run} 1 and {red, ball} 0 -> 0.5; coverage: 3 of {brown, dog, run, grass}.
  EXPECT_DOUBLE_EQ(m.score[0][0], 0.5);
  EXPECT_DOUBLE_EQ(m.score[1][0], 0.75);
  EXPECT_DOUBLE_EQ(m.score[2][0], 1.0);
  EXPECT_DOUBLE_EQ(m.score[2][1], 0.0);  // an empty caption
  EXPECT_EQ(m.seconds.size(), 3u);
}

TEST(BuildObjectives, SceneJudgeObjectivesComeFromTheSceneFactory) {
  auto objectives = build_objectives(config::demo_config().rewards, at::kCPU);
  EXPECT_EQ(names_of(objectives), (std::vector<std::string>{"correctness", "coverage", "linguistic"}));
}

TEST(BuildObjectives, LexicalJudgeCannotLookAtImages) {
  config::RewardsConfig rewards;
  rewards.objectives["correctness"].evidence = "image";
  try {
    build_objectives(rewards, at::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rewards.objectives.correctness"), std::string::npos) << e.what();
  }
}

TEST(BuildObjectives, ObjectiveNamingAMissingJudgeIsAnError) {
  config::RewardsConfig rewards;
  rewards.objectives["coverage"].judge = "nobody";
  EXPECT_THROW(build_objectives(rewards, at::kCPU), Error);
}

class BrokenObjective : public Objective {
 public:
  std::string name() const override { return "broken"; }
  ObjectiveScores score(const std::vector<ScoredCaption>& c) override {
    return {std::vector<double>(c.size(), 1.5), std::vector<bool>(c.size(), true)};
  }
};

TEST(ScoreCaptions, ScoreOutsideTheUnitIntervalIsRefused) {
  std::vector<std::unique_ptr<Objective>> objectives;
  objectives.push_back(std::make_unique<BrokenObjective>());
  data::Record r;
  EXPECT_THROW(score_captions(objectives, {{&r, "x", 1}}), Error);
}

}  // namespace
}  // namespace balcap::rewards
