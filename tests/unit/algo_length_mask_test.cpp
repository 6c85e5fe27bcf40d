// Length-conditional masking (docs/architecture.md §6) on hand-made lengths.
#include <gtest/gtest.h>

#include "algo/length_mask.h"
#include "core/error.h"

namespace balcap::algo {
namespace {

config::LengthMaskConfig default_mask() { return config::LengthMaskConfig{}; }  // [0.5, 2], zero, linguistic

ObjectiveRewards objective(std::string name, std::vector<double> score) {
  return ObjectiveRewards{std::move(name), 1.0, score, std::vector<bool>(score.size(), true)};
}

TEST(LengthMask, RatioBoundsAreInclusive) {
  auto mask = default_mask();
  EXPECT_FALSE(length_out_of_bounds({5, 10.0}, mask));   // rho 0.5 = min_ratio
  EXPECT_FALSE(length_out_of_bounds({20, 10.0}, mask));  // rho 2.0 = max_ratio
  EXPECT_TRUE(length_out_of_bounds({4, 10.0}, mask));    // rho 0.4
  EXPECT_TRUE(length_out_of_bounds({21, 10.0}, mask));   // rho 2.1
  EXPECT_FALSE(length_out_of_bounds({7, 12.5}, mask));   // rho 0.56 against a mean reference length
}

TEST(LengthMask, RecordsWithoutReferenceUseAbsoluteTokenBounds) {
  auto mask = default_mask();  // min_tokens 8, max_tokens 256
  EXPECT_TRUE(length_out_of_bounds({7, 0.0}, mask));
  EXPECT_FALSE(length_out_of_bounds({8, 0.0}, mask));
  EXPECT_FALSE(length_out_of_bounds({256, 0.0}, mask));
  EXPECT_TRUE(length_out_of_bounds({257, 0.0}, mask));
}

TEST(LengthMask, ZeroModeReplacesMaskedScoresOfListedObjectivesOnly) {
  std::vector<ObjectiveRewards> rewards = {objective("correctness", {0.9, 0.8, 0.7}),
                                           objective("linguistic", {0.9, 0.8, 0.7})};
  rewards[1].valid[2] = false;  // a masked sample's judge failure no longer matters: the mask decides
  auto result = apply_length_mask(rewards, {{10, 10.0}, {3, 10.0}, {25, 10.0}}, default_mask());
  EXPECT_EQ(rewards[0].score, (std::vector<double>{0.9, 0.8, 0.7}));
  EXPECT_EQ(rewards[1].score, (std::vector<double>{0.9, 0.0, 0.0}));
  EXPECT_EQ(rewards[1].valid, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(result.masked[0], (std::vector<bool>{false, false, false}));
  EXPECT_EQ(result.masked[1], (std::vector<bool>{false, true, true}));
  EXPECT_EQ(result.excluded[1], (std::vector<bool>{false, false, false}));
}

TEST(LengthMask, ZeroModeUsesTheConfiguredMaskedValue) {
  auto mask = default_mask();
  mask.masked_value = 0.25;
  std::vector<ObjectiveRewards> rewards = {objective("linguistic", {0.9, 0.8})};
  apply_length_mask(rewards, {{10, 10.0}, {100, 10.0}}, mask);
  EXPECT_EQ(rewards[0].score, (std::vector<double>{0.9, 0.25}));
}

TEST(LengthMask, ExcludeModeKeepsScoresAndReportsExcludedSamples) {
  auto mask = default_mask();
  mask.mask_mode = "exclude";
  std::vector<ObjectiveRewards> rewards = {objective("linguistic", {0.9, 0.8, 0.7})};
  auto result = apply_length_mask(rewards, {{10, 10.0}, {3, 10.0}, {10, 10.0}}, mask);
  EXPECT_EQ(rewards[0].score, (std::vector<double>{0.9, 0.8, 0.7}));
  EXPECT_EQ(result.masked[0], (std::vector<bool>{false, true, false}));
  EXPECT_EQ(result.excluded[0], (std::vector<bool>{false, true, false}));
}

TEST(LengthMask, LinearModeSubtractsCoefTimesTheDistanceOfTheRatioFromOne) {
  auto mask = default_mask();
  mask.mask_mode = "linear";
  mask.linear_coef = 0.5;
  std::vector<ObjectiveRewards> rewards = {objective("correctness", {0.9, 0.8, 0.7, 0.6}),
                                           objective("linguistic", {0.9, 0.8, 0.7, 0.6})};
  rewards[1].valid[3] = false;
  // rho 1 (no penalty), 0.3 (inside no bound: 0.5 * 0.7), 2.5 (0.5 * 1.5), invalid stays as it is
  auto result = apply_length_mask(rewards, {{10, 10.0}, {3, 10.0}, {25, 10.0}, {40, 10.0}}, mask);
  EXPECT_EQ(rewards[0].score, (std::vector<double>{0.9, 0.8, 0.7, 0.6}));
  EXPECT_DOUBLE_EQ(rewards[1].score[0], 0.9);
  EXPECT_DOUBLE_EQ(rewards[1].score[1], 0.8 - 0.35);
  EXPECT_DOUBLE_EQ(rewards[1].score[2], 0.7 - 0.75);  // below 0: the penalty is not clamped
  EXPECT_DOUBLE_EQ(rewards[1].score[3], 0.6);
  EXPECT_EQ(rewards[1].valid, (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(result.masked[1], (std::vector<bool>{false, false, false, false}));
  EXPECT_EQ(result.excluded[1], (std::vector<bool>{false, false, false, false}));
}

TEST(LengthMask, LinearModeLeavesRecordsWithoutReferenceUnpenalised) {
  auto mask = default_mask();
  mask.mask_mode = "linear";
  std::vector<ObjectiveRewards> rewards = {objective("linguistic", {0.9})};
  apply_length_mask(rewards, {{500, 0.0}}, mask);
  EXPECT_EQ(rewards[0].score, (std::vector<double>{0.9}));
}

TEST(LengthMask, DisabledMaskMasksNothing) {
  auto mask = default_mask();
  mask.enabled = false;
  std::vector<ObjectiveRewards> rewards = {objective("linguistic", {0.9, 0.8})};
  auto result = apply_length_mask(rewards, {{1, 10.0}, {100, 10.0}}, mask);
  EXPECT_EQ(rewards[0].score, (std::vector<double>{0.9, 0.8}));
  EXPECT_EQ(result.masked[0], (std::vector<bool>{false, false}));
}

TEST(LengthMask, ListedObjectiveThatIsNotScoredIsAnError) {
  std::vector<ObjectiveRewards> rewards = {objective("correctness", {0.9})};
  try {
    apply_length_mask(rewards, {{10, 10.0}}, default_mask());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'linguistic'"), std::string::npos) << e.what();
  }
}

TEST(LengthMask, LengthCountMismatchIsAnError) {
  std::vector<ObjectiveRewards> rewards = {objective("linguistic", {0.9, 0.8})};
  EXPECT_THROW(apply_length_mask(rewards, {{10, 10.0}}, default_mask()), Error);
}

}  // namespace
}  // namespace balcap::algo
