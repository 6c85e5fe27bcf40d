// `balcap train` / `balcap sft` under disk and numerical faults (docs/reliability.md), on the tiny
// random Qwen2.5-VL and 3 synthetic records of train_loop_test.cpp. The disk faults are the
// kernel's: a small tmpfs that fills up (ENOSPC) and a read-only remount (EROFS), both inside a user
// + mount namespace (skipped, with the reason, where the machine allows none), and RLIMIT_FSIZE
// (EFBIG), which needs no privilege. A fault the kernel cannot be asked for at the right moment (a
// save failing once, a NaN at one step) comes from BALCAP_FAULTS (core/fault_points.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "checkpoint/checkpointer.h"
#include "support/test_support.h"
#include "support/train_runs.h"

namespace balcap::test {
namespace {

// 2 images x G=2 per step in one mini-batch and one micro-batch, so that the n-th hit of an update
// fault point is step n. No optimizer state in the checkpoints (46 MB each) unless asked.
std::string fault_config(const fs::path& data, const fs::path& run_dir, const std::string& extra = "") {
  std::ostringstream y;
  y << "model:\n  path: '" << reference_path("train", "tiny_policy").string() << "'\n"
    << "data:\n  train: '" << data.string() << "'\n"
    << "sampling:\n  max_new_tokens: 8\n  cuda_graphs: false\n"
    << "algo:\n  mini_batches: 1\n"
    << "optim:\n  lr: 1.0e-3\n  warmup_steps: 1\n"
    << "train:\n  run_dir: '" << run_dir.string() << "'\n  max_steps: 3\n  save_every: 1\n  batch_size: 2\n"
    << "  group_size: 2\n  micro_batch: 4\n  dtype: float32\n  device: cpu\n  seed: 7\n"
    << "checkpoint:\n  keep_last: 1\n  save_optimizer: false\n"
    << "logging:\n  tensorboard: false\n  progress: never\n  samples_every: 0\n"
    << extra;
  return y.str();
}

// `balcap ARGS` with BALCAP_FAULTS set (empty: none armed).
CommandResult balcap_with_faults(const std::string& faults, const std::string& args) {
  return run_command("BALCAP_FAULTS=" + shell_quote(faults) + " " + shell_quote(kBalcapBinary) + " " + args);
}

std::string train_args(const fs::path& cfg, const std::string& extra = "") {
  return "train --config " + shell_quote(cfg.string()) + " " + extra;
}

// Names under `dir`, sorted.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Runs `script` (sh) as root of a new user + mount namespace: its mounts are private to it and gone
// when it ends. Returns false when the machine allows no such namespace (containers often don't).
bool run_in_namespace(const std::string& script, std::string* why) {
  const CommandResult probe = run_command("unshare --user --map-root-user --mount true");
  if (probe.exit_code != 0) {
    *why = "no user + mount namespace here (unshare --user --map-root-user --mount: " + probe.err + ")";
    return false;
  }
  const CommandResult r = run_command("unshare --user --map-root-user --mount sh -c " + shell_quote(script));
  if (r.exit_code == 90) {
    *why = "mounting a tmpfs inside the namespace failed: " + r.err;
    return false;
  }
  return true;
}

std::string quoted(const fs::path& p) { return shell_quote(p.string()); }

// The failed save of step `failed` said where, why (`reason`: the kernel's words) and what is left;
// the run directory `run` (the run wrote `logged_run`: the same, or a copy) holds step-`kept`
// complete and nothing else of the checkpoints.
void expect_save_failed_and_previous_kept(const std::string& log, const fs::path& logged_run, const fs::path& run,
                                          const std::string& reason, int failed = 2, int kept = 1) {
  const fs::path ckpts = logged_run / "checkpoints";
  const std::string failed_dir = (ckpts / ("step-" + std::to_string(failed))).string();
  const std::string kept_name = "step-" + std::to_string(kept);
  const std::string could_not = ": the checkpoint of step " + std::to_string(failed) + " could not be written";
  EXPECT_TRUE(contains(log, failed_dir + could_not)) << log;
  EXPECT_TRUE(contains(log, reason)) << log;
  EXPECT_TRUE(contains(log, "the newest complete checkpoint, " + (ckpts / kept_name).string() + ", is untouched"))
      << log;
  EXPECT_TRUE(contains(log, "HINT: make room on that file system")) << log;
  EXPECT_FALSE(contains(log, "internal error")) << log;
  EXPECT_EQ(entries(run / "checkpoints"), (std::vector<std::string>{kept_name}));
  EXPECT_TRUE(checkpoint::is_complete(run / "checkpoints" / kept_name));
}

// `--resume auto` takes step-1 and the run, with room again, finishes its 3 steps.
void expect_resumes_from_step_1(const fs::path& cfg, const fs::path& run) {
  const CommandResult r = run_balcap(train_args(cfg, "--run-dir " + quoted(run) + " --resume auto"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "resumed from " + (run / "checkpoints" / "step-1").string())) << r.err;
  EXPECT_EQ(metrics_rows(run).size(), 3u);
  EXPECT_EQ(entries(run / "checkpoints"), (std::vector<std::string>{"step-3"}));  // keep_last 1
}

// The whole run directory on a 72 MB tmpfs: step-1 (46 MB) fits, step-2 beside it does not.
TEST(TrainFaults, CheckpointOnAFullDiskStopsTheRunAndKeepsThePreviousOne) {
  const fs::path dir = scratch_dir();
  const fs::path disk = dir / "disk", run = disk / "run", copy = dir / "copy";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  fs::create_directories(disk);
  std::string why;
  const std::string script = "mount -t tmpfs -o size=72m tmpfs " + quoted(disk) + " || exit 90\n" +
                             shell_quote(kBalcapBinary) + " " + train_args(cfg) + " >" + quoted(dir / "log") +
                             " 2>&1\necho $? >" + quoted(dir / "rc") + "\ncp -a " + quoted(run) + " " + quoted(copy);
  if (!run_in_namespace(script, &why)) GTEST_SKIP() << why;
  const std::string log = read_file(dir / "log");
  EXPECT_EQ(read_file(dir / "rc"), "1\n") << log;
  expect_save_failed_and_previous_kept(log, run, copy, "No space left on device");
  EXPECT_TRUE(contains(log, "checkpoint.on_save_failure is stop")) << log;
  EXPECT_EQ(metrics_rows(copy).size(), 2u);  // row 2 came before its checkpoint; a resume drops it
  expect_resumes_from_step_1(cfg, copy);
}

// Where no namespace is allowed: a run that crashed during step 2 (after its step-1 checkpoint) is
// resumed under a file size limit (RLIMIT_FSIZE, EFBIG) below the model's 46 MB, so that its save
// of step 2 fails as a full disk's would.
TEST(TrainFaults, CheckpointOverTheFileSizeLimitStopsTheRunAndKeepsThePreviousOne) {
  const fs::path dir = scratch_dir();
  const fs::path run = dir / "run";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  ASSERT_NE(balcap_with_faults("update.micro_batch:kill@2", train_args(cfg)).exit_code, 0);
  ASSERT_TRUE(checkpoint::is_complete(run / "checkpoints" / "step-1"));
  // 20000 blocks: 10 or 20 MB, whatever the shell's block size.
  const CommandResult r = run_command("sh -c " + shell_quote("trap '' XFSZ; ulimit -f 20000; exec " +
                                                             shell_quote(kBalcapBinary) + " " + train_args(cfg)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  expect_save_failed_and_previous_kept(r.err, run, run, "File too large");
  expect_resumes_from_step_1(cfg, run);
}

TEST(TrainFaults, UnderContinueAFailedCheckpointIsLoggedAndTheNextOneIsWritten) {
  const fs::path dir = scratch_dir();
  const fs::path run = dir / "run";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  const CommandResult r = balcap_with_faults(
      "checkpoint.files_written:fail@2",
      train_args(cfg, "--set checkpoint.on_save_failure=continue --set checkpoint.keep_last=0"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "step-2: the checkpoint of step 2 could not be written")) << r.err;
  EXPECT_TRUE(contains(r.err, "step 2: training goes on without this checkpoint")) << r.err;
  EXPECT_EQ(entries(run / "checkpoints"), (std::vector<std::string>{"step-1", "step-3"}));
  EXPECT_EQ(metrics_rows(run).size(), 3u);
}

// Saves at step 2 (save_every 2) and at the end, step 3; the second fails.
TEST(TrainFaults, UnderContinueTheLastCheckpointMustStillBeWritten) {
  const fs::path dir = scratch_dir();
  const fs::path run = dir / "run";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  const CommandResult r = balcap_with_faults(
      "checkpoint.files_written:fail@2", train_args(cfg, "--save-every 2 --set checkpoint.on_save_failure=continue"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  expect_save_failed_and_previous_kept(r.err, run, run, "No space left on device (injected", 3, 2);
}

// Two ranks started by hand (a launcher would stop the second one itself when the first fails): rank
// 0 writes the checkpoint and fails; rank 1 learns it from the save's agreement, not from a timeout.
TEST(TrainFaults, OnTwoRanksAFailedCheckpointStopsBothRanks) {
  const fs::path dir = scratch_dir();
  const fs::path run = dir / "run";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  const std::string train = shell_quote(kBalcapBinary) + " " + train_args(cfg, "--set dist.timeout_s=60");
  const std::string script =
      "export WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) +
      " OMP_NUM_THREADS=1 BALCAP_FAULTS=checkpoint.files_written:fail@2; "
      "RANK=1 LOCAL_RANK=1 " + train + " >" + quoted(dir / "r1.log") + " 2>&1 & p1=$!; "
      "RANK=0 LOCAL_RANK=0 " + train + " >" + quoted(dir / "r0.log") + " 2>&1; echo rc0=$?; wait $p1; echo rc1=$?";
  const CommandResult r = run_command("sh -c " + shell_quote(script));
  const std::string r0 = read_file(dir / "r0.log"), r1 = read_file(dir / "r1.log");
  EXPECT_TRUE(contains(r.out, "rc0=1\nrc1=1\n")) << r.out << r0 << r1;
  expect_save_failed_and_previous_kept(r0, run, run, "No space left on device (injected");
  EXPECT_TRUE(contains(r1, "the checkpoint of step 2 failed on another rank. HINT: " + (run / "rank-0.log").string()))
      << r1;
  EXPECT_TRUE(contains(read_file(run / "rank-0.log"), "the checkpoint of step 2 could not be written"));
}

// metrics.jsonl outgrows an 8 or 16 kB file size limit (the config snapshot, 5 kB, fits) a few steps in.
TEST(TrainFaults, MetricsOnAFullDiskStopTheRunWithTheFileNamed) {
  const fs::path dir = scratch_dir();
  const fs::path run = dir / "run";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  const CommandResult r = run_command("sh -c " + shell_quote("trap '' XFSZ; ulimit -f 16; exec " +
                                                             shell_quote(kBalcapBinary) + " " +
                                                             train_args(cfg, "--max-steps 30 --save-every 0")));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, (run / "metrics.jsonl").string() + ": writing failed: File too large")) << r.err;
  EXPECT_TRUE(contains(r.err, "HINT: check free disk space")) << r.err;
  EXPECT_FALSE(contains(r.err, "internal error")) << r.err;
}

TEST(TrainFaults, RunDirOnAReadOnlyFileSystemIsRefusedBeforeTheModelLoads) {
  const fs::path dir = scratch_dir();
  const fs::path ro = dir / "ro";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), ro / "run"));
  fs::create_directories(ro);
  const std::string balcap = shell_quote(kBalcapBinary) + " " + train_args(cfg);
  std::string why;
  const std::string script = "mount -t tmpfs -o size=1m tmpfs " + quoted(ro) + " && mkdir " + quoted(ro / "run") +
                             " && mount -o remount,ro " + quoted(ro) + " || exit 90\n" + balcap + " >" +
                             quoted(dir / "existing.log") + " 2>&1\necho $? >" + quoted(dir / "existing.rc") + "\n" +
                             balcap + " --run-dir " + quoted(ro / "new") + " >" + quoted(dir / "new.log") +
                             " 2>&1\necho $? >" + quoted(dir / "new.rc");
  if (!run_in_namespace(script, &why)) GTEST_SKIP() << why;
  const std::string existing = read_file(dir / "existing.log"), fresh = read_file(dir / "new.log");
  EXPECT_EQ(read_file(dir / "existing.rc"), "1\n") << existing;
  EXPECT_TRUE(contains(existing, "run directory " + (ro / "run").string() + ": cannot create a file in " +
                                     (ro / "run").string() + ": Read-only file system"))
      << existing;
  EXPECT_EQ(read_file(dir / "new.rc"), "1\n") << fresh;
  EXPECT_TRUE(contains(fresh, "run directory " + (ro / "new").string() + ": cannot create " +
                                  (ro / "new").string() + ": Read-only file system"))
      << fresh;
  for (const std::string& log : {existing, fresh}) {
    EXPECT_TRUE(contains(log, "HINT: the run directory must be writable")) << log;
    EXPECT_FALSE(contains(log, "loaded")) << "the model was loaded first: " << log;
  }
}

// The parameter the update.grad fault point poisoned, from its log line.
std::string poisoned_parameter(const std::string& log) {
  const std::string mark = "BALCAP_FAULTS update.grad: the gradient of ";
  const auto at = log.find(mark);
  if (at == std::string::npos) return "";
  const auto begin = at + mark.size();
  return log.substr(begin, log.find(' ', begin) - begin);
}

std::string weights(const fs::path& run, int step) {
  return read_file(run / "checkpoints" / ("step-" + std::to_string(step)) / "model" / "model.safetensors");
}

// Steps 2 (NaN loss) and 4 (NaN gradient) skip their update, and two skips that are not consecutive
// do not reach train.max_skipped_steps = 2.
TEST(TrainFaults, NanLossAndNanGradientSkipTheirStepsAndTheRunGoesOn) {
  const fs::path dir = scratch_dir();
  const fs::path run = dir / "run";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  const CommandResult r = balcap_with_faults(
      "update.loss:nan@2,update.grad:nan@4",
      train_args(cfg, "--max-steps 5 --set checkpoint.keep_last=0 --set train.max_skipped_steps=2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "step 2: optimizer step 1 of 1 skipped, nothing applied: the loss is nan")) << r.err;
  const std::string param = poisoned_parameter(r.err);
  ASSERT_FALSE(param.empty()) << r.err;
  EXPECT_TRUE(contains(r.err, "step 4: optimizer step 1 of 1 skipped, nothing applied: the gradient of " + param +
                                  " is non-finite"))
      << r.err;
  const auto rows = metrics_rows(run);
  ASSERT_EQ(rows.size(), 5u);
  std::vector<int> skipped, applied;
  for (const auto& row : rows) {
    skipped.push_back(row.at("skipped_steps").get<int>());
    applied.push_back(row.at("optimizer_steps").get<int>());
  }
  EXPECT_EQ(skipped, (std::vector<int>{0, 1, 0, 1, 0}));
  EXPECT_EQ(applied, (std::vector<int>{1, 0, 1, 0, 1}));
  // A skipped step leaves the weights as they were; the others move them.
  EXPECT_TRUE(weights(run, 1) == weights(run, 2));
  EXPECT_TRUE(weights(run, 3) == weights(run, 4));
  EXPECT_FALSE(weights(run, 2) == weights(run, 3));
  EXPECT_FALSE(weights(run, 4) == weights(run, 5));
  // The LR schedule counts applied updates only.
  const auto state = nlohmann::json::parse(read_file(run / "checkpoints" / "step-5" / "trainer_state.json"));
  EXPECT_EQ(state.at("lr_schedule").at("step"), 3);
}

TEST(TrainFaults, ConsecutiveSkippedStepsSaveACheckpointAndStopTheRun) {
  const fs::path dir = scratch_dir();
  const fs::path run = dir / "run";
  const fs::path cfg = write_config(dir, fault_config(synth_data(dir / "data"), run));
  const CommandResult r = balcap_with_faults(
      "update.loss:nan@2,update.grad:nan@3",
      train_args(cfg, "--max-steps 5 --save-every 0 --set train.max_skipped_steps=2"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const fs::path step3 = run / "checkpoints" / "step-3";
  EXPECT_TRUE(contains(r.err, "stopped after step 3: 2 steps in a row skipped their optimizer update")) << r.err;
  EXPECT_TRUE(contains(r.err, "train.max_skipped_steps = 2")) << r.err;
  EXPECT_TRUE(contains(r.err, "checkpoint " + step3.string() + " saved")) << r.err;
  EXPECT_TRUE(contains(r.err, "HINT")) << r.err;
  EXPECT_TRUE(checkpoint::is_complete(step3));
  EXPECT_EQ(metrics_rows(run).size(), 3u);
}

TEST(TrainFaults, SftStopsAfterConsecutiveSkippedStepsWithTheTensorsLogged) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = write_config(
      dir, fault_config(synth_data(dir / "data"), dir / "run",
                        "sft:\n  max_steps: 4\n  save_every: 0\n  batch_size: 3\n  lr: 3.0e-3\n  references: first\n"));
  const CommandResult r = balcap_with_faults("update.loss:nan@1,update.grad:nan@2",
                                             "sft --config " + shell_quote(cfg.string()) +
                                                 " --set train.max_skipped_steps=2");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "SFT step 1: optimizer step skipped, nothing applied: the loss is nan")) << r.err;
  EXPECT_TRUE(contains(r.err, "SFT step 2: optimizer step skipped, nothing applied: the gradient of " +
                                  poisoned_parameter(r.err) + " is non-finite"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "SFT stopped after step 2: 2 steps in a row")) << r.err;
  EXPECT_TRUE(checkpoint::is_complete(dir / "run" / "sft" / "checkpoints" / "step-2"));
}

}  // namespace
}  // namespace balcap::test
