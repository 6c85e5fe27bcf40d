// Config errors: every bad-input kind names the key path, the YAML line (or the --set
// argument) and the value, and one load reports all problems at once.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "config/load.h"
#include "config/validate.h"
#include "core/error.h"
#include "support/test_support.h"

namespace balcap::config {
namespace {

using balcap::test::scratch_dir;
using balcap::test::write_file;

const std::string kMinimal = "model:\n  path: runs/m\ndata:\n  train: d.jsonl\n";

// Loads `yaml` from a file and returns the balcap::Error message ("" when it loads).
std::string load_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto file = scratch_dir() / "c.yaml";
  write_file(file, yaml);
  try {
    load_config(file, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigErrors, UnknownKeyNamesPathLineAndSuggestion) {
  std::string msg = load_error(kMinimal + "sampling:\n  temprature: 0.7\n");
  EXPECT_NE(msg.find("c.yaml:6: unknown key 'sampling.temprature'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'sampling.temperature'?"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HINT:"), std::string::npos) << msg;
}

TEST(ConfigErrors, UnknownSectionSuggestsTheSection) {
  std::string msg = load_error(kMinimal + "optimizer:\n  lr: 1.0\n");
  EXPECT_NE(msg.find("c.yaml:5: unknown key 'optimizer'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'optim'?"), std::string::npos) << msg;
}

TEST(ConfigErrors, UnrelatedUnknownKeyGetsNoSuggestion) {
  std::string msg = load_error(kMinimal + "train:\n  zzzzzzzzzz: 1\n");
  EXPECT_NE(msg.find("unknown key 'train.zzzzzzzzzz'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
}

TEST(ConfigErrors, ARenamedKeyInTheFileOrInSetNamesItsNewName) {
  std::string msg = load_error(kMinimal + "train:\n  max_bad_steps: 3\n");
  EXPECT_NE(msg.find("unknown key 'train.max_bad_steps': renamed to 'train.max_skipped_steps'"), std::string::npos)
      << msg;
  msg = load_error(kMinimal, {"logging.log_judge_calls=true"});
  EXPECT_NE(msg.find("unknown key 'logging.log_judge_calls': removed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rewards.log_judge_calls"), std::string::npos) << msg;
}

TEST(ConfigErrors, WrongTypeNamesPathLineExpectedTypeAndValue) {
  std::string msg = load_error(kMinimal + "train:\n  seed: 1\n  group_size: eight\n");
  EXPECT_NE(msg.find("c.yaml:7: 'train.group_size' expects an int, found 'eight'"), std::string::npos) << msg;
}

TEST(ConfigErrors, FractionalValueForAnIntIsAWrongType) {
  std::string msg = load_error(kMinimal + "sampling:\n  max_new_tokens: 12.5\n");
  EXPECT_NE(msg.find("'sampling.max_new_tokens' expects an int, found '12.5'"), std::string::npos) << msg;
}

TEST(ConfigErrors, QuotedNumberIsAStringNotAnInt) {
  std::string msg = load_error(kMinimal + "sampling:\n  max_new_tokens: \"256\"\n");
  EXPECT_NE(msg.find("'sampling.max_new_tokens' expects an int, found the quoted string \"256\""), std::string::npos)
      << msg;
}

TEST(ConfigErrors, ListWhereAScalarBelongsIsAWrongType) {
  std::string msg = load_error(kMinimal + "algo:\n  clip_low: [0.2]\n");
  EXPECT_NE(msg.find("c.yaml:6: 'algo.clip_low' expects a float, found a list"), std::string::npos) << msg;
}

TEST(ConfigErrors, ScalarWhereASectionBelongsIsAWrongType) {
  std::string msg = load_error(kMinimal + "train: 5\n");
  EXPECT_NE(msg.find("c.yaml:5: 'train' expects a mapping, found '5'"), std::string::npos) << msg;
}

TEST(ConfigErrors, BoolFieldRejectsANumber) {
  std::string msg = load_error("model:\n  path: m\ndata:\n  train: d.jsonl\n  shuffle: 2\n");
  EXPECT_NE(msg.find("'data.shuffle' expects a bool (true/false), found '2'"), std::string::npos) << msg;
}

TEST(ConfigErrors, OutOfRangeValueNamesPathValueAndRange) {
  std::string msg = load_error(kMinimal + "sampling:\n  top_p: 1.5\n");
  EXPECT_NE(msg.find("c.yaml:6: 'sampling.top_p' = 1.5 is out of range: allowed (0, 1]"), std::string::npos) << msg;
}

TEST(ConfigErrors, NegativeCountIsOutOfRange) {
  std::string msg = load_error(kMinimal + "train:\n  max_steps: -3\n");
  EXPECT_NE(msg.find("'train.max_steps' = -3 is out of range: allowed >= 1"), std::string::npos) << msg;
}

TEST(ConfigErrors, NanIsNotAFiniteNumber) {
  std::string msg = load_error(kMinimal + "optim:\n  lr: .nan\n");
  EXPECT_NE(msg.find("'optim.lr' = .nan must be a finite number"), std::string::npos) << msg;
}

TEST(ConfigErrors, BadEnumListsAllowedValuesAndSuggests) {
  std::string msg = load_error(kMinimal + "algo:\n  advantage: gdop\n");
  EXPECT_NE(msg.find("c.yaml:6: 'algo.advantage' = 'gdop' is not allowed: one of gdpo, grpo"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("did you mean 'gdpo'?"), std::string::npos) << msg;
}

TEST(ConfigErrors, BadDeviceStringIsRejected) {
  std::string msg = load_error(kMinimal + "train:\n  device: gpu0\n");
  EXPECT_NE(msg.find("'train.device' = 'gpu0' is not a device"), std::string::npos) << msg;
}

TEST(ConfigErrors, MissingRequiredKeysAreNamedAsDefaults) {
  std::string msg = load_error("train:\n  seed: 1\n");
  EXPECT_NE(msg.find("'model.path' is required but empty"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'data.train' is required but empty"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 problems"), std::string::npos) << msg;
}

TEST(ConfigErrors, KeyGivenTwiceNamesBothLines) {
  std::string msg = load_error(kMinimal + "algo:\n  advantage: gdpo\n  advantage: grpo\n");
  EXPECT_NE(msg.find("c.yaml:7: key 'algo.advantage' is given twice (first at line 6)"), std::string::npos) << msg;
}

TEST(ConfigErrors, AllProblemsAreReportedInOneLoad) {
  std::string msg = load_error(std::string(kMinimal) +
                               "sampling:\n  temprature: 0.7\n  top_p: 2\n"
                               "train:\n  group_size: x\n"
                               "algo:\n  advantage: ppo\n");
  EXPECT_NE(msg.find("4 problems"), std::string::npos) << msg;
  for (const char* part : {"c.yaml:6:", "c.yaml:7:", "c.yaml:9:", "c.yaml:11:"}) {
    EXPECT_NE(msg.find(part), std::string::npos) << part << "\n" << msg;
  }
}

TEST(ConfigErrors, ObjectiveNamingAMissingJudgeIsAnError) {
  std::string msg =
      load_error(std::string(kMinimal) + "rewards:\n  objectives:\n    correctness: {judge: big_judge}\n");
  EXPECT_NE(msg.find("c.yaml:7: 'rewards.objectives.correctness.judge' = 'big_judge' names no judge"),
            std::string::npos)
      << msg;
}

TEST(ConfigErrors, LengthMaskOnAMissingObjectiveIsAnError) {
  std::string msg =
      load_error(std::string(kMinimal) +
                 "rewards:\n  objectives:\n    correctness: {}\n  length_mask:\n    objectives: [linguistic]\n");
  EXPECT_NE(msg.find("'rewards.length_mask.objectives[0]' = 'linguistic' is not an objective"), std::string::npos)
      << msg;
}

TEST(ConfigErrors, CustomObjectiveNeedsAScorer) {
  std::string msg = load_error(kMinimal + "rewards:\n  objectives:\n    brevity: {weight: 0.5}\n");
  EXPECT_NE(msg.find("'rewards.objectives.brevity.scorer' is required but empty"), std::string::npos) << msg;
}

TEST(ConfigErrors, LocalJudgeWithoutModelIsAnError) {
  std::string msg = load_error(kMinimal + "rewards:\n  judges:\n    lexical: {}\n    big: {kind: local}\n");
  EXPECT_NE(msg.find("'rewards.judges.big.model' is required for a local judge"), std::string::npos) << msg;
}

TEST(ConfigErrors, InvertedLengthRatiosAreAnError) {
  std::string msg = load_error(kMinimal + "rewards:\n  length_mask:\n    min_ratio: 3\n");
  EXPECT_NE(msg.find("'rewards.length_mask.min_ratio' = 3.0 must be below 'rewards.length_mask.max_ratio' = 2.0"),
            std::string::npos)
      << msg;
}

TEST(ConfigErrors, MiniBatchesMustDivideTheStepsSequences) {
  std::string msg = load_error(kMinimal + "algo:\n  mini_batches: 3\n");
  EXPECT_NE(msg.find("'algo.mini_batches' = 3 does not divide the 64 sequences"), std::string::npos) << msg;
}

TEST(ConfigErrors, BadMapEntryNameIsAnError) {
  std::string msg = load_error(kMinimal + "rewards:\n  judges:\n    Big-Judge: {kind: lexical}\n");
  EXPECT_NE(msg.find("c.yaml:7: 'Big-Judge' is not a valid name under 'rewards.judges'"), std::string::npos) << msg;
}

TEST(ConfigErrors, MissingFileIsNamed) {
  try {
    load_config(scratch_dir() / "nope.yaml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("nope.yaml: file not found"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HINT:"), std::string::npos) << msg;
  }
}

TEST(ConfigErrors, YamlSyntaxErrorNamesFileAndLine) {
  std::string msg = load_error(kMinimal + "train:\n  seed: [1, 2\n  max_steps: 3\n");
  EXPECT_NE(msg.find("c.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
}

TEST(ConfigErrors, TopLevelListIsNotAConfig) {
  std::string msg = load_error("- a\n- b\n");
  EXPECT_NE(msg.find("'(top level)' expects a mapping, found a list"), std::string::npos) << msg;
}

TEST(ConfigErrors, ValidateWithoutSourceStillNamesKeyAndValue) {
  config::Config cfg = default_config();
  cfg.model.path = "m";
  cfg.data.train = "d";
  cfg.algo.clip_high = -1;
  try {
    validate(cfg);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'algo.clip_high' = -1.0 is out of range: allowed [0, 10]"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace balcap::config
