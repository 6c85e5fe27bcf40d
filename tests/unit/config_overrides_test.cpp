// --set KEY=VALUE: any key, VALUE read as YAML, applied after the file and before validation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/load.h"
#include "core/error.h"
#include "support/test_support.h"

namespace balcap::config {
namespace {

using balcap::test::scratch_dir;
using balcap::test::write_file;

const std::string kMinimal = "model:\n  path: runs/m\ndata:\n  train: d.jsonl\n";

config::Config load_with(const std::vector<std::string>& overrides, const std::string& extra = "") {
  return load_config_text(kMinimal + extra, "test.yaml", overrides);
}

std::string override_error(const std::vector<std::string>& overrides) {
  try {
    load_with(overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigOverrides, SetReplacesANestedScalar) {
  config::Config cfg = load_with({"train.lora.r=64", "sampling.temperature=0.7", "data.shuffle=false"});
  EXPECT_EQ(cfg.train.lora.r, 64);
  EXPECT_DOUBLE_EQ(cfg.sampling.temperature, 0.7);
  EXPECT_FALSE(cfg.data.shuffle);
}

TEST(ConfigOverrides, SetWinsOverTheFile) {
  config::Config cfg = load_with({"optim.lr=2e-6"}, "optim:\n  lr: 5.0e-6\n");
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 2e-6);
}

TEST(ConfigOverrides, SetReadsFlowListsAsLists) {
  config::Config cfg = load_with({"sampling.stop_token_ids=[151645, 151643]", "optim.betas=[0.9,0.95]"});
  EXPECT_EQ(cfg.sampling.stop_token_ids, (std::vector<std::int64_t>{151645, 151643}));
  EXPECT_EQ(cfg.optim.betas, (std::vector<double>{0.9, 0.95}));
}

TEST(ConfigOverrides, SetChangesAnEnum) {
  config::Config cfg = load_with({"algo.advantage=grpo", "rewards.length_mask.mask_mode=exclude"});
  EXPECT_EQ(cfg.algo.advantage, "grpo");
  EXPECT_EQ(cfg.rewards.length_mask.mask_mode, "exclude");
}

TEST(ConfigOverrides, SetWithABadEnumNamesTheSetArgument) {
  std::string msg = override_error({"algo.advantage=ppo"});
  EXPECT_NE(msg.find("--set algo.advantage=ppo: 'algo.advantage' = 'ppo' is not allowed: one of gdpo, grpo"),
            std::string::npos)
      << msg;
}

TEST(ConfigOverrides, SetEditsOneMapEntryAndKeepsTheOthers) {
  config::Config cfg = load_with({"rewards.objectives.linguistic.weight=0.5"});
  ASSERT_EQ(cfg.rewards.objectives.size(), 3u);
  EXPECT_DOUBLE_EQ(cfg.rewards.objectives.at("linguistic").weight, 0.5);
  EXPECT_EQ(cfg.rewards.objectives.at("linguistic").scorer, "judge_rating");
  EXPECT_DOUBLE_EQ(cfg.rewards.objectives.at("coverage").weight, 1.0);
}

TEST(ConfigOverrides, SetAddsAMapEntryFromItsNamesDefaults) {
  config::Config cfg = load_with({"rewards.judges.scene.batch_size=4"});
  ASSERT_EQ(cfg.rewards.judges.count("scene"), 1u);
  EXPECT_EQ(cfg.rewards.judges.at("scene").kind, "scene");
  EXPECT_EQ(cfg.rewards.judges.at("scene").batch_size, 4);
}

TEST(ConfigOverrides, SetOfAWholeMapReplacesIt) {
  config::Config cfg = load_with({"rewards.objectives={correctness: {weight: 2.0}}", "rewards.length_mask.objectives=[]"});
  ASSERT_EQ(cfg.rewards.objectives.size(), 1u);
  EXPECT_EQ(cfg.rewards.objectives.at("correctness").scorer, "claim_precision");
  EXPECT_DOUBLE_EQ(cfg.rewards.objectives.at("correctness").weight, 2.0);
}

TEST(ConfigOverrides, SetOfASectionMergesItsKeys) {
  config::Config cfg = load_with({"train.lora={enabled: true, r: 8}"});
  EXPECT_TRUE(cfg.train.lora.enabled);
  EXPECT_EQ(cfg.train.lora.r, 8);
  EXPECT_DOUBLE_EQ(cfg.train.lora.alpha, 32.0);
}

TEST(ConfigOverrides, StringValueThatIsNotYamlIsTakenVerbatim) {
  config::Config cfg = load_with({"data.prompt=Describe: colours, shapes, [and] counts."});
  EXPECT_EQ(cfg.data.prompt, "Describe: colours, shapes, [and] counts.");
}

TEST(ConfigOverrides, QuotedStringValueLosesItsQuotes) {
  config::Config cfg = load_with({"model.path='runs/my model'"});
  EXPECT_EQ(cfg.model.path, "runs/my model");
}

TEST(ConfigOverrides, UnknownSetKeyIsNamedWithASuggestion) {
  std::string msg = override_error({"sampling.temprature=0.5"});
  EXPECT_NE(msg.find("--set sampling.temprature=0.5: unknown key 'sampling.temprature' (did you mean "
                     "'sampling.temperature'?)"),
            std::string::npos)
      << msg;
}

TEST(ConfigOverrides, UnknownSetSectionIsNamed) {
  std::string msg = override_error({"trian.max_steps=3"});
  EXPECT_NE(msg.find("unknown key 'trian' (did you mean 'train'?)"), std::string::npos) << msg;
}

TEST(ConfigOverrides, MistypedMapEntryInSetPointsAtTheIntendedName) {
  std::string msg = override_error({"rewards.objectives.linguistc.weight=2"});
  EXPECT_NE(msg.find("--set rewards.objectives.linguistc.weight=2 (adds a new entry; did you mean "
                     "'rewards.objectives.linguistic'?): 'rewards.objectives.linguistc.scorer' is required"),
            std::string::npos)
      << msg;
}

TEST(ConfigOverrides, SetBelowAScalarIsAnError) {
  std::string msg = override_error({"train.seed.x=1"});
  EXPECT_NE(msg.find("--set train.seed.x=1: 'train.seed' is int; it has no key 'x'"), std::string::npos) << msg;
}

TEST(ConfigOverrides, SetWithoutEqualsIsAnError) {
  std::string msg = override_error({"train.seed"});
  EXPECT_NE(msg.find("--set train.seed: expected KEY=VALUE"), std::string::npos) << msg;
}

TEST(ConfigOverrides, SetWithAWrongTypeNamesTheArgument) {
  std::string msg = override_error({"train.max_steps=many"});
  EXPECT_NE(msg.find("--set train.max_steps=many: 'train.max_steps' expects an int, found 'many'"), std::string::npos)
      << msg;
}

TEST(ConfigOverrides, OutOfRangeSetValueNamesTheArgument) {
  std::string msg = override_error({"sampling.top_p=0"});
  EXPECT_NE(msg.find("--set sampling.top_p=0: 'sampling.top_p' = 0.0 is out of range: allowed (0, 1]"),
            std::string::npos)
      << msg;
}

TEST(ConfigOverrides, SetCanFixWhatTheFileGotWrong) {
  // Overrides apply before validation: a file value out of range is fine once --set replaces it.
  config::Config cfg = load_with({"sampling.top_p=0.9"}, "sampling:\n  top_p: 7\n");
  EXPECT_DOUBLE_EQ(cfg.sampling.top_p, 0.9);
}

TEST(ConfigOverrides, SetSuppliesRequiredKeysMissingFromTheFile) {
  auto file = scratch_dir() / "empty.yaml";
  write_file(file, "");
  config::Config cfg = load_config(file, {"model.path=m", "data.train=t.jsonl"});
  EXPECT_EQ(cfg.model.path, "m");
  EXPECT_EQ(cfg.data.train, "t.jsonl");
}

}  // namespace
}  // namespace balcap::config
