// Kill-anywhere resume in CI (docs/reliability.md): `scripts/stress_resume 5` SIGKILLs a tiny CPU
// `balcap train` run at 5 random moments (fault points in rollout, scoring, update and checkpoint
// writes, and timer kills), reruns the same command after each, and finds every checkpoint it
// resumed from, every metrics row and the final run bitwise equal to the uninterrupted run. The
// seed is drawn per run and printed: `scripts/stress_resume 5 --seed S` replays a failure. And
// BALCAP_FAULTS through the real binary: a kill is a SIGKILL, a malformed entry stops the run with
// the entry named.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.h"
#include "support/train_runs.h"

namespace balcap::test {
namespace {

TEST(StressResume, FiveRandomKillsEachResumeToTheUninterruptedRunBitwise) {
  const fs::path dir = scratch_dir();
  const fs::path summary = dir / "summary.json";
  const std::string cmd = shell_quote(kPython) + " " + shell_quote(std::string(kSourceDir) + "/scripts/stress_resume") +
                          " 5 --work " + shell_quote((dir / "work").string()) + " --balcap " +
                          shell_quote(kBalcapBinary) + " --json " + shell_quote(summary.string());
  const CommandResult r = run_command(cmd);
  std::cout << r.out;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto s = nlohmann::json::parse(read_file(summary));
  EXPECT_EQ(s.at("result"), "pass") << s.at("failures").dump(1);
  EXPECT_EQ(s.at("kills_landed"), 5);
  EXPECT_EQ(s.at("kills_verified"), 5);  // after each: the checkpoint resumed from and every row on disk equal
  EXPECT_GE(s.at("resumes").get<int>(), 5);
  EXPECT_GE(s.at("double_resumes").get<int>(), 1);  // one kill before the resumed attempt saved anything
  EXPECT_EQ(s.at("runs_bitwise_equal"), s.at("runs"));
  EXPECT_EQ(s.at("checkpoints_equal"), s.at("checkpoints_verified"));
  EXPECT_EQ(s.at("rows_equal"), s.at("row_checks"));
  EXPECT_GE(s.at("epochs_in_run").size(), 3u);  // the run crosses epoch boundaries
}

// A run of the tiny policy (tests/e2e/train_loop_test.cpp's shape), 1 step.
fs::path one_step_config(const fs::path& dir) {
  std::ostringstream y;
  y << "model:\n  path: '" << reference_path("train", "tiny_policy").string() << "'\n"
    << "data:\n  train: '" << synth_data(dir / "data").string() << "'\n"
    << "sampling:\n  max_new_tokens: 4\n  cuda_graphs: false\n"
    << "train:\n  run_dir: '" << (dir / "run").string() << "'\n  max_steps: 1\n  batch_size: 2\n"
    << "  group_size: 2\n  micro_batch: 2\n  dtype: float32\n  device: cpu\n"
    << "logging:\n  tensorboard: false\n  progress: never\n";
  return write_config(dir, y.str());
}

CommandResult train_with_faults(const fs::path& cfg, const std::string& faults) {
  return run_command("BALCAP_FAULTS=" + shell_quote(faults) + " OMP_NUM_THREADS=1 " + shell_quote(kBalcapBinary) +
                     " train --config " + shell_quote(cfg.string()));
}

TEST(StressResume, AFaultPointKillIsASigkillOfTheRealBinary) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = one_step_config(dir);
  const CommandResult r = train_with_faults(cfg, "scoring.objective:kill@2");  // the 2nd objective of step 1
  EXPECT_EQ(r.exit_code, 128 + 9) << r.err;  // /bin/sh reports a child killed by signal 9 as 137
  EXPECT_NE(r.err.find("fault points armed"), std::string::npos) << r.err;
  EXPECT_TRUE(metrics_rows(dir / "run").empty()) << "killed during step 1, yet a row was written";
}

TEST(StressResume, AMalformedFaultEntryStopsTheRunNamingIt) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = one_step_config(dir);
  const CommandResult r = train_with_faults(cfg, "update.micro_batch:kill@2,scoring.objective:explode");
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("BALCAP_FAULTS entry 'scoring.objective:explode': unknown action 'explode'"), std::string::npos)
      << r.err;
  EXPECT_TRUE(metrics_rows(dir / "run").empty());
}

// A misspelt point would arm nothing and a stress run would pass without its kill: refused at start.
TEST(StressResume, AFaultPointBalcapDoesNotHaveIsRefusedBeforeAnythingLoads) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = one_step_config(dir);
  const CommandResult r = train_with_faults(cfg, "update.microbatch:kill@3");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("names the point 'update.microbatch', which balcap does not have"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("update.micro_batch"), std::string::npos) << r.err;  // the HINT lists the real ones
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints")) << "the run started before the check";
}

}  // namespace
}  // namespace balcap::test
