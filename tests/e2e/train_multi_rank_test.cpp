// Multi-process training over c10d Gloo on 127.0.0.1 (docs/distributed.md): real `balcap train`
// processes started by scripts/launch, by torchrun, or one by one with the launch variables.
//
// The same global batch on 1, 2 and 4 ranks takes the same step: every rank samples its share of the
// images with randomness keyed by image and step, rewards and advantages use global statistics, the
// loss is weighted by global counts and the gradients are summed over ranks. What differs is float32
// summation order (ranks hold interleaved images), so values agree to rounding: metrics of the first
// step within 1e-5 (relative), of the second within 1e-4; weights within 1e-5 (||a - b|| / ||a|| per
// tensor; the worst is the key bias, whose true gradient is 0: softmax ignores it, so its gradient
// is rounding noise that AdamW normalises into steps; the test config's AdamW eps 1e-6 damps that).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "io/safetensors_reader.h"
#include "support/test_support.h"
#include "support/train_runs.h"

namespace balcap::test {
namespace {

// 4 images x G=2 per step, one mini-batch of micro-batches of 2, 8 new tokens; steps 1 and 2 saved.
std::string rank_config(const fs::path& data, const fs::path& run_dir) {
  return "model:\n  path: '" + reference_path("train", "tiny_policy").string() + "'\n" +
         "data:\n  train: '" + data.string() + "'\n" +
         "sampling:\n  max_new_tokens: 8\n  cuda_graphs: false\n"
         "optim:\n  lr: 1.0e-3\n  warmup_steps: 0\n  eps: 1.0e-6\n"
         "train:\n  run_dir: '" + run_dir.string() + "'\n  max_steps: 2\n  save_every: 1\n  batch_size: 4\n"
         "  group_size: 2\n  micro_batch: 2\n  dtype: float32\n  device: cpu\n  seed: 7\n"
         "dist:\n  timeout_s: 20\n"
         "checkpoint:\n  keep_last: 0\n"
         "logging:\n  tensorboard: false\n  progress: never\n";
}

struct RankRun {
  fs::path dir, cfg, run;
};

RankRun make_run(const fs::path& root, const std::string& name, const fs::path& data) {
  RankRun r{root / name, {}, root / name / "run"};
  r.cfg = write_config(r.dir, rank_config(data, r.run));
  return r;
}

std::string launch(int ranks) {
  return shell_quote(std::string(kSourceDir) + "/scripts/launch") + " --nproc " + std::to_string(ranks) +
         " --master-port " + std::to_string(free_port()) + " ";
}

// `balcap train` of `run` on `ranks` processes (one: no launcher); fails the test on a non-zero exit.
void train_on(int ranks, const RankRun& run, const std::string& extra = "") {
  const std::string cmd = (ranks > 1 ? launch(ranks) : std::string("OMP_NUM_THREADS=1 ")) +
                          shell_quote(kBalcapBinary) + " train --config " + shell_quote(run.cfg.string()) + " " + extra;
  const CommandResult r = run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.out << r.err;
}

TEST(MultiRank, OneTwoAndFourRanksTakeTheSameStepsOnTheSameGlobalBatch) {
  const fs::path root = scratch_dir();
  const fs::path data = synth_data(root / "data", 4);
  const RankRun one = make_run(root, "one", data), two = make_run(root, "two", data),
                four = make_run(root, "four", data), accum = make_run(root, "two_accum", data),
                after = make_run(root, "two_sync_after_backward", data);
  train_on(1, one);
  train_on(2, two);   // gradient buckets all-reduced during the last backward pass (the default)
  train_on(4, four);
  train_on(2, accum, "--set train.grad_accum=2");  // 2 micro-batches of 1 caption group per rank
  train_on(2, after, "--set dist.overlap_grad_sync=false");  // all buckets after the backward pass
  for (const RankRun* other : {&two, &four, &accum, &after}) {
    SCOPED_TRACE(other->dir.filename().string());
    expect_same_row(one.run, other->run, 1, 1e-5);
    expect_same_weights(one.run, other->run, 1, 1e-5);
    expect_same_row(one.run, other->run, 2, 1e-4);
    expect_same_weights(one.run, other->run, 2, 1e-5);
  }
  // Rank 0 writes the run's files; every rank its own log.
  EXPECT_TRUE(fs::exists(four.run / "rank-3.log"));
  EXPECT_FALSE(fs::exists(one.run / "rank-0.log"));
}

std::int64_t bytes_of(const fs::path& f) { return static_cast<std::int64_t>(fs::file_size(f)); }

// dist.sharded_optimizer: each rank keeps and updates the AdamW state of ~1/world of the parameters and
// receives the others' new values; the steps are those of one process, each rank's checkpoint shard
// holds its part (together: the one-process state), and the sharded run resumes on one process.
// (Two ranks: the 4-rank sharded run adds nothing the 2-rank one and the 4-rank unsharded run do not.)
TEST(MultiRank, ShardedOptimizerTakesTheSameStepsWithAFractionOfTheStatePerRank) {
  const fs::path root = scratch_dir();
  const fs::path data = synth_data(root / "data", 4);
  const RankRun one = make_run(root, "one", data), two = make_run(root, "two_sharded", data),
                back = make_run(root, "two_sharded_then_one", data);
  const std::string sharded = "--set dist.sharded_optimizer=true";
  train_on(1, one);
  train_on(2, two, sharded);
  train_on(2, back, sharded + " --max-steps 1");
  train_on(1, back, "--resume auto --resume-force");
  expect_same_row(one.run, two.run, 1, 1e-5);
  expect_same_weights(one.run, two.run, 1, 1e-5);
  expect_same_row(one.run, two.run, 2, 1e-4);
  expect_same_weights(one.run, two.run, 2, 1e-5);
  expect_same_row(one.run, back.run, 2, 1e-4);
  expect_same_weights(one.run, back.run, 2, 1e-5);
  // Optimizer state bytes per rank: the one-process file split into `world` parts of about 1/world, or
  // of one parameter's state when a single parameter is larger (a parameter is never split: here the
  // tiny policy's 151936-row embedding is most of the model).
  std::int64_t biggest = 0;  // the largest parameter's AdamW state: float32 exp_avg + exp_avg_sq
  for (const auto& [name, t] : io::load_safetensors(reference_path("train", "tiny_policy") / "model.safetensors")) {
    biggest = std::max(biggest, 8 * t.numel());
  }
  const auto optim = [](const RankRun& r, int rank) {
    return r.run / "checkpoints" / "step-2" / "optim" / ("rank-" + std::to_string(rank) + ".safetensors");
  };
  const std::int64_t whole = bytes_of(optim(one, 0));
  const std::int64_t sum = bytes_of(optim(two, 0)) + bytes_of(optim(two, 1));
  const std::int64_t largest = std::max(bytes_of(optim(two, 0)), bytes_of(optim(two, 1)));
  std::cout << "2 ranks: optimizer state " << whole << " bytes in one process, largest shard " << largest << " (sum "
            << sum << "; largest parameter's state " << biggest << ")\n";
  EXPECT_NEAR(static_cast<double>(sum), static_cast<double>(whole), 0.02 * static_cast<double>(whole));
  EXPECT_LT(largest, std::max(whole / 2, biggest) + whole / 50);
  // LoRA adapters (many small tensors): two ranks keep about half each. Without LoRA dropout: its masks
  // come from each rank's own generator, so they differ between world sizes (docs/distributed.md).
  const RankRun lora_one = make_run(root, "lora_one", data), lora_two = make_run(root, "lora_two_sharded", data);
  const std::string lora = "--set train.lora.enabled=true --set train.lora.r=4 --set train.lora.dropout=0 ";
  train_on(1, lora_one, lora);
  train_on(2, lora_two, lora + sharded);
  expect_same_row(lora_one.run, lora_two.run, 2, 1e-4);
  const std::int64_t lora_whole = bytes_of(optim(lora_one, 0));
  const std::int64_t lora_largest = std::max(bytes_of(optim(lora_two, 0)), bytes_of(optim(lora_two, 1)));
  std::cout << "LoRA, 2 ranks: optimizer state " << lora_whole << " bytes in one process, largest shard "
            << lora_largest << "\n";
  EXPECT_LT(lora_largest, lora_whole * 6 / 10);
}

// Checkpoints hold one optimizer state (not sharded) and sampling does not depend on the rank, so a
// run continues on another world size: 2 ranks for step 1, then 1 rank for step 2 (and 1 -> 2) give the
// uninterrupted run.
TEST(MultiRank, ResumeOnAnotherWorldSizeContinuesTheRun) {
  const fs::path root = scratch_dir();
  const fs::path data = synth_data(root / "data", 4);
  const RankRun whole = make_run(root, "whole", data), down = make_run(root, "two_then_one", data),
                up = make_run(root, "one_then_two", data);
  train_on(1, whole);
  train_on(2, down, "--max-steps 1");
  train_on(1, down, "--resume auto --resume-force");  // --resume-force: max_steps differs from the saved config
  train_on(1, up, "--max-steps 1");
  train_on(2, up, "--resume auto --resume-force");
  for (const RankRun* resumed : {&down, &up}) {
    SCOPED_TRACE(resumed->dir.filename().string());
    ASSERT_EQ(metrics_rows(resumed->run).size(), 2u);
    expect_same_row(whole.run, resumed->run, 2, 1e-4);
    expect_same_weights(whole.run, resumed->run, 2, 1e-5);
  }
}

// `sh -c` script that starts rank 1 then rank 0 of a 2-rank run by hand, sends `signal` to rank 1 once
// rank 0 has written its first metrics row, and prints rank 0's exit code and how long it took to exit
// (then kills rank 1).
std::string signal_one_rank_script(const RankRun& run, const std::string& signal, const std::string& extra = "") {
  const std::string train = shell_quote(kBalcapBinary) + " train --config " + shell_quote(run.cfg.string()) +
                            " --max-steps 50 " + extra;
  const std::string logs = shell_quote(run.dir.string());
  return "export WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) +
         " OMP_NUM_THREADS=1; "
         "RANK=1 LOCAL_RANK=1 " + train + " > " + logs + "/r1.log 2>&1 & p1=$!; "
         "RANK=0 LOCAL_RANK=0 " + train + " > " + logs + "/r0.log 2>&1 & p0=$!; "
         "i=0; while [ ! -s " + shell_quote((run.run / "metrics.jsonl").string()) + " ] && [ $i -lt 1200 ]; do "
         "sleep 0.05; i=$((i+1)); done; "
         "kill -" + signal + " $p1; t0=$(date +%s%N); wait $p0; rc=$?; t1=$(date +%s%N); "
         "kill -9 $p1 2>/dev/null; wait $p1 2>/dev/null; echo \"rc=$rc ms=$(( (t1 - t0) / 1000000 ))\"";
}

struct RankExit {
  int rc = -1, ms = -1;
  std::string log;  // rank 0's output
};

RankExit run_signal_script(const RankRun& run, const std::string& signal, const std::string& extra = "") {
  const CommandResult r = run_command(signal_one_rank_script(run, signal, extra));
  RankExit e;
  e.log = read_file(run.dir / "r0.log");
  if (r.out.find("rc=") == std::string::npos) return e;
  e.rc = std::stoi(r.out.substr(r.out.find("rc=") + 3));
  e.ms = std::stoi(r.out.substr(r.out.find("ms=") + 3));
  const auto error = e.log.rfind("error");
  std::cout << "rank 0 exited " << e.rc << " after " << e.ms << " ms: "
            << (error == std::string::npos ? e.log : e.log.substr(error)) << "\n";
  return e;
}

TEST(MultiRank, AKilledRankMakesTheOtherExitNamingItselfAndTheCollective) {
  const fs::path root = scratch_dir();
  const RankRun run = make_run(root, "run", synth_data(root / "data", 4));
  const RankExit e = run_signal_script(run, "KILL");
  EXPECT_EQ(e.rc, 1) << e.log;
  EXPECT_LT(e.ms, 20000);  // dist.timeout_s: a dead peer is noticed at once ("Connection closed by peer")
  EXPECT_NE(e.log.find("rank 0 of 2"), std::string::npos) << e.log;
  EXPECT_NE(e.log.find("failed"), std::string::npos) << e.log;
  EXPECT_NE(e.log.find("HINT"), std::string::npos) << e.log;
}

// A rank that hangs (SIGSTOP): the other gives up after dist.timeout_s and names itself.
TEST(MultiRank, AHungRankMakesTheOtherExitAfterTheTimeout) {
  const fs::path root = scratch_dir();
  const RankRun run = make_run(root, "run", synth_data(root / "data", 4));
  const RankExit e = run_signal_script(run, "STOP", "--set dist.timeout_s=4");
  EXPECT_EQ(e.rc, 1) << e.log;
  EXPECT_GE(e.ms, 3000);
  EXPECT_LT(e.ms, 30000);
  EXPECT_NE(e.log.find("rank 0 of 2"), std::string::npos) << e.log;
  EXPECT_NE(e.log.find("HINT"), std::string::npos) << e.log;
}

// An undecodable image is skipped on the rank that holds it and counted in the global totals; a rank
// left with no image at all still joins every collective (no deadlock) and the steps equal one process's.
TEST(MultiRank, ABadImageIsSkippedOnItsRankAndCountedGloballyWithoutADeadlock) {
  const fs::path root = scratch_dir();
  const fs::path good = synth_data(root / "data", 1);
  fs::copy_file(data_path("images/truncated.jpg"), root / "data" / "images" / "broken.jpg");
  write_file(root / "data" / "mixed.jsonl",
             read_file(good) + R"({"id": "broken", "image": "images/broken.jpg", "references": ["a broken image"]})" "\n");
  const fs::path data = root / "data" / "mixed.jsonl";
  RankRun one = make_run(root, "one", data), two = make_run(root, "two", data);
  const std::string batch2 = "--set train.batch_size=2";  // one good and one broken image per step
  train_on(1, one, batch2);
  train_on(2, two, batch2);
  for (int step : {1, 2}) expect_same_row(one.run, two.run, step, 1e-4);
  const auto rows = metrics_rows(two.run);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("images_skipped"), 1);
  EXPECT_EQ(rows[1].at("images_skipped_total"), 2);
  EXPECT_EQ(rows[1].at("captions"), 2);
}

// SIGTERM to the launcher reaches every rank: they agree on the step, write one complete checkpoint
// of it and exit 0; the run resumes from there.
TEST(MultiRank, SigtermGivesOneCompleteCheckpointAndAResumableRun) {
  const fs::path root = scratch_dir();
  const RankRun run = make_run(root, "run", synth_data(root / "data", 4));
  const std::string script = launch(2) + shell_quote(kBalcapBinary) + " train --config " +
                             shell_quote(run.cfg.string()) + " --max-steps 200 > " +
                             shell_quote((run.dir / "launch.log").string()) + " 2>&1 & p=$!; i=0; while [ ! -s " +
                             shell_quote((run.run / "metrics.jsonl").string()) +
                             " ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; kill -TERM $p; wait $p; "
                             "echo rc=$?";
  const CommandResult r = run_command(script);
  const std::string log = read_file(run.dir / "launch.log");
  ASSERT_NE(r.out.find("rc=0"), std::string::npos) << r.out << log;
  const auto rows = metrics_rows(run.run);
  ASSERT_GE(rows.size(), 1u);
  ASSERT_LT(rows.size(), 200u) << "the signal came too late";
  const fs::path last = run.run / "checkpoints" / ("step-" + std::to_string(rows.size()));
  EXPECT_TRUE(fs::exists(last / "COMPLETE")) << log;
  for (const char* rank_log : {"rank-0.log", "rank-1.log"}) {
    EXPECT_NE(read_file(run.run / rank_log).find("stopped by SIGTERM after step " + std::to_string(rows.size())),
              std::string::npos) << rank_log;
  }
}

// torchrun (its agent serves the store; every rank connects as a client) runs the same 2-rank job as
// scripts/launch.
TEST(MultiRank, TorchrunRunsTheSameJobAsScriptsLaunch) {
  const fs::path root = scratch_dir();
  const fs::path data = synth_data(root / "data", 4);
  const RankRun ours = make_run(root, "launch", data), theirs = make_run(root, "torchrun", data);
  train_on(2, ours);
  const std::string torchrun = (fs::path(kPython).parent_path() / "torchrun").string();
  const CommandResult r = run_command(shell_quote(torchrun) + " --no-python --nproc-per-node 2 --master-port " +
                                      std::to_string(free_port()) + " " + shell_quote(kBalcapBinary) +
                                      " train --config " + shell_quote(theirs.cfg.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (int step : {1, 2}) expect_same_row(ours.run, theirs.run, step, 0.0);
  expect_same_weights(ours.run, theirs.run, 2, 0.0);
}

}  // namespace
}  // namespace balcap::test

