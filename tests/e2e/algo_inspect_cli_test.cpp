// `balcap inspect advantage` run as a real process: JSON in, JSON out, exit 2 naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "support/test_support.h"

namespace balcap::test {
namespace {

CommandResult inspect(const std::string& input, const std::string& flags = "") {
  // A group, so run_command's </dev/null applies to it and the pipe feeds balcap.
  return run_command("{ printf '%s' " + shell_quote(input) + " | " + shell_quote(kBalcapBinary) + " inspect advantage" +
                     flags + "; }");
}

TEST(InspectAdvantageCli, PrintsHandComputedGdpoAdvantagesAndMaskFlags) {
  // correctness {0, 1, 1}: mean 2/3, unbiased var 1/3. linguistic {0.9, 0.6, 0.3} with sample 1
  // (60 tokens vs 20 reference tokens: rho 3 > 2) masked to 0 -> {0.9, 0, 0.3}: mean 0.4, var 0.21.
  auto r = inspect(R"({"batch_normalize": false,
    "groups": [{"reference_tokens": 20, "samples": [
      {"tokens": 20, "rewards": {"correctness": 0.0, "linguistic": 0.9}},
      {"tokens": 60, "rewards": {"correctness": 1.0, "linguistic": 0.6}},
      {"tokens": 20, "rewards": {"correctness": 1.0, "linguistic": 0.3}}]}]})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto out = nlohmann::json::parse(r.out);
  double c = std::sqrt(1.0 / 3.0) + 1e-6, l = std::sqrt(0.21) + 1e-6;
  std::vector<double> want = {(-2.0 / 3) / c + 0.5 / l, (1.0 / 3) / c - 0.4 / l, (1.0 / 3) / c - 0.1 / l};
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(out["advantages"][0][j].get<double>(), want[j], 1e-9) << j;
  EXPECT_EQ(out["masked"]["linguistic"], nlohmann::json::parse("[[false, true, false]]"));
  EXPECT_FALSE(out["masked"].contains("correctness"));
}

TEST(InspectAdvantageCli, GrpoCollapsesWhatGdpoSeparates) {
  std::string groups = R"("groups": [
    {"samples": [{"tokens": 10, "rewards": {"a": 0, "b": 0}}, {"tokens": 10, "rewards": {"a": 1, "b": 0}}]},
    {"samples": [{"tokens": 10, "rewards": {"a": 0, "b": 0}}, {"tokens": 10, "rewards": {"a": 1, "b": 1}}]}],
    "length_mask": {"enabled": false})";
  auto grpo = inspect(R"({"mode": "grpo", )" + groups + "}");
  auto gdpo = inspect(R"({"mode": "gdpo", "batch_normalize": false, )" + groups + "}");
  ASSERT_EQ(grpo.exit_code, 0) << grpo.err;
  ASSERT_EQ(gdpo.exit_code, 0) << gdpo.err;
  auto a = nlohmann::json::parse(grpo.out)["advantages"], b = nlohmann::json::parse(gdpo.out)["advantages"];
  double u = 0.5 / (std::sqrt(0.5) + 1e-6), v = 1.0 / (std::sqrt(2.0) + 1e-6);
  EXPECT_NEAR(a[0][1].get<double>(), u, 1e-9);
  EXPECT_NEAR(a[1][1].get<double>(), v, 1e-9);  // u == v to 1e-6: the collapse
  EXPECT_NEAR(b[0][1].get<double>(), u, 1e-9);
  EXPECT_NEAR(b[1][1].get<double>(), 2 * u, 1e-9);
}

TEST(InspectAdvantageCli, MissingRewardIsInvalidAndStatsAreOptional) {
  auto r = inspect(R"({"batch_normalize": false, "length_mask": {"objectives": []}, "groups": [{"samples": [
      {"tokens": 5, "rewards": {"a": 1.0}}, {"tokens": 5, "rewards": {"a": null}}, {"tokens": 5, "rewards": {"a": 0.5}}]}]})",
                   " --stats");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto out = nlohmann::json::parse(r.out);
  double u = 0.25 / (0.25 * std::sqrt(2.0) + 1e-6);
  EXPECT_NEAR(out["advantages"][0][0].get<double>(), u, 1e-9);
  EXPECT_EQ(out["advantages"][0][1].get<double>(), 0.0);
  EXPECT_NEAR(out["stats"]["objectives"]["a"]["valid_fraction"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(out["stats"]["objectives"]["a"]["raw_mean"].get<double>(), 0.75, 1e-12);
}

void expect_usage_error(const std::string& input, const std::string& field) {
  auto r = inspect(input);
  EXPECT_EQ(r.exit_code, 2) << input << "\n" << r.out;
  EXPECT_NE(r.err.find("'" + field + "'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;
}

TEST(InspectAdvantageCli, MalformedInputExitsTwoNamingTheField) {
  expect_usage_error(R"({"groups": [{"samples": [{"tokens": "ten", "rewards": {"a": 1}}]}]})",
                     "groups[0].samples[0].tokens");
  expect_usage_error(R"({"groups": [{"samples": [{"rewards": {"a": 1}}]}]})", "groups[0].samples[0].tokens");
  expect_usage_error(R"({"mode": "ppo", "groups": [{"samples": [{"tokens": 1, "rewards": {"a": 1}}]}]})", "mode");
  expect_usage_error(
      R"({"length_mask": {"mask_mode": "drop"}, "groups": [{"samples": [{"tokens": 1, "rewards": {"linguistic": 1}}]}]})",
      "length_mask.mask_mode");
  expect_usage_error(R"({"groups": [{"samples": [{"tokens": 1, "rewards": {"a": 1}}]}]})", "length_mask.objectives[0]");
  expect_usage_error(R"({"weight": {"a": 1}, "groups": []})", "weight");
  expect_usage_error(R"({"groups": []})", "groups");
  expect_usage_error(R"({"groups": [{"samples": [{"tokens": 1, "rewards": {"a": "high"}}]}]})",
                     "groups[0].samples[0].rewards.a");
  auto r = inspect("{not json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace balcap::test
