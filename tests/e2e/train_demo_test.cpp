// The demo, shortened (scripts/demo.sh with a smaller budget, fixed seed): synth -> model init ->
// SFT -> eval before -> BalCapRL (c-GDPO + length mask, configs/demo.yaml) -> eval after ->
// summary.json + plots. Asserts that RL improves the held-out balanced score over the SFT start
// and that summary.json has the documented shape.
//
// The shortened budget (about 3 minutes on 2 cores): the full demo's 3000 scenes, seed and 300 SFT
// steps (the policy then writes overlong, repetitive captions), 10 of its 100 RL steps (G = 8),
// evaluated on 32 held-out scenes. When the budget was first set (2026-12-05, G = 4, before the
// pointability test): balanced 0.309 -> 0.487 at seed 0 (the test's), 0.358 -> 0.397 at seed 1,
// 0.316 -> 0.397 at seed 2; at 200 SFT steps seed 2 did not improve, so 300 is the smallest kept.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace balcap::test {
namespace {

// The shortened budget (the full demo: 3000 scenes, 64 held-out, 300 SFT steps, 100 RL steps).
constexpr const char* kDemoEnv =
    "BALCAP_DEMO_SETUP=0 DEMO_TRAIN_N=3000 DEMO_EVAL_N=32 DEMO_SEED=0 DEMO_SFT_STEPS=300 DEMO_RL_STEPS=10 ";

TEST(Demo, RlImprovesTheHeldOutBalancedScoreOverTheSftStart) {
  const fs::path run = scratch_dir() / "demo_short";
  fs::remove_all(run);
  const std::string cmd = std::string(kDemoEnv) + "BALCAP_BIN=" + shell_quote(kBalcapBinary) + " BALCAP_PYTHON=" +
                          shell_quote(kPython) + " bash " + shell_quote((fs::path(kSourceDir) / "scripts/demo.sh").string()) +
                          " " + shell_quote(run.string());
  CommandResult r = run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n" << r.err;

  const nlohmann::json summary = nlohmann::json::parse(read_file(run / "summary.json"));
  ASSERT_EQ(summary.size(), 2u) << summary.dump();
  for (const char* phase : {"before", "after"}) {
    const nlohmann::json& p = summary.at(phase);
    EXPECT_EQ(p.size(), 6u) << p.dump();
    for (const char* key : {"b_capscore", "correctness", "coverage", "linguistic", "balanced"}) {
      ASSERT_TRUE(p.at(key).is_number()) << phase << "." << key;
      EXPECT_GE(p.at(key).get<double>(), 0.0);
      EXPECT_LE(p.at(key).get<double>(), 1.0);
    }
    EXPECT_GT(p.at("length_ratio").get<double>(), 0.0) << phase;
  }
  const double before = summary.at("before").at("balanced"), after = summary.at("after").at("balanced");
  EXPECT_GT(after, before) << "RL did not improve the held-out balanced score: " << summary.dump(2) << "\n" << r.out;
  EXPECT_GT(summary.at("after").at("b_capscore").get<double>(), summary.at("before").at("b_capscore").get<double>())
      << "RL did not improve the held-out b-CapScore: " << summary.dump(2);
  EXPECT_TRUE(fs::exists(run / "plots" / "rewards.png"));
  EXPECT_TRUE(fs::exists(run / "plots" / "length.png"));

  // Resumable: a second run finds every phase complete and only re-reports.
  CommandResult again = run_command(cmd);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("done before: " + (run / "eval_after.json").string()), std::string::npos) << again.out;
  EXPECT_EQ(nlohmann::json::parse(read_file(run / "summary.json")), summary);
}

}  // namespace
}  // namespace balcap::test
