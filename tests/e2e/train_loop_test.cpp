// `balcap train` / `balcap sft` end to end on a tiny random Qwen2.5-VL (tests/reference/
// make_tiny_policy.py via ref_train.py) and a 3-record synthetic dataset (`balcap data synth`):
// rewards logged every step, exact resume after SIGKILL (also across epoch boundaries, twice),
// SIGTERM saves and exits 0, bad data is skipped and counted (or stops the run under `fail`).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "io/safetensors_reader.h"
#include "support/test_support.h"
#include "support/train_runs.h"

extern char** environ;

namespace balcap::test {
namespace {

// A config for the tiny policy: 2 images x G=2 per step, 8 new tokens, lexical objectives.
std::string tiny_config(const fs::path& data, const fs::path& run_dir, const std::string& extra = "",
                        const std::string& policy = "tiny_policy") {
  std::ostringstream y;
  y << "model:\n  path: '" << reference_path("train", policy).string() << "'\n"
    << "data:\n  train: '" << data.string() << "'\n"
    << "sampling:\n  max_new_tokens: 8\n  cuda_graphs: false\n"
    << "algo:\n  mini_batches: 2\n"
    << "optim:\n  lr: 1.0e-3\n  warmup_steps: 1\n"
    << "train:\n  run_dir: '" << run_dir.string() << "'\n  max_steps: 6\n  save_every: 3\n  batch_size: 2\n"
    << "  group_size: 2\n  micro_batch: 2\n  dtype: float32\n  device: cpu\n  seed: 7\n"
    << "checkpoint:\n  keep_last: 0\n"
    << "logging:\n  tensorboard: false\n  progress: never\n  samples_every: 2\n  samples_count: 2\n"
    << extra;
  return y.str();
}

// The row without its wall-clock fields (time/*, perf/*): what must be byte-identical on resume.
std::string deterministic_part(nlohmann::json row) {
  for (auto it = row.begin(); it != row.end();) {
    const std::string& k = it.key();
    it = (k.rfind("time/", 0) == 0 || k.rfind("perf/", 0) == 0 || k.rfind("memory/", 0) == 0) ? row.erase(it) : std::next(it);
  }
  return row.dump();
}

// A background `balcap ARGS...` with output to `log`.
// pid stays -1 when the spawn failed; signal() and wait_exit() then do nothing (never kill(-1, ...),
// which would signal every process of the user).
struct Child {
  pid_t pid = -1;
  void signal(int sig) const {
    if (pid > 0) kill(pid, sig);
  }
  int wait_exit() const {
    if (pid <= 0) return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

Child spawn_balcap(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> argv_s{kBalcapBinary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  Child c;
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, kBalcapBinary, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << "cannot start " << kBalcapBinary;
  if (rc == 0 && pid > 0) c.pid = pid;
  return c;
}

bool complete_checkpoint(const fs::path& run_dir, int step) {
  return fs::exists(run_dir / "checkpoints" / ("step-" + std::to_string(step)) / "COMPLETE");
}

// Waits (up to 5 minutes) until `ready()`; false on timeout.
template <class F>
bool wait_for(F ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Runs to the end in the foreground; the test fails with the output on a non-zero exit.
void train(const fs::path& cfg, const std::string& extra_args = "") {
  CommandResult r = run_balcap("train --config " + shell_quote(cfg.string()) + " " + extra_args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

// SIGKILLs a run right after checkpoint `step` is complete, i.e. during step `step` + 1 (its
// metrics row not written yet).
void kill_after_checkpoint(const fs::path& cfg, const fs::path& run_dir, int step, const fs::path& log,
                           const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"train", "--config", cfg.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  Child c = spawn_balcap(args, log);
  ASSERT_GT(c.pid, 0);
  const bool reached = wait_for([&] { return complete_checkpoint(run_dir, step); });
  c.signal(SIGKILL);
  c.wait_exit();
  ASSERT_TRUE(reached) << read_file(log);
  ASSERT_EQ(metrics_rows(run_dir).size(), static_cast<size_t>(step)) << "killed too late: " << read_file(log);
}

std::string final_weights(const fs::path& run_dir, int step) {
  return read_file(run_dir / "checkpoints" / ("step-" + std::to_string(step)) / "model" / "model.safetensors");
}

void expect_same_runs(const fs::path& a, const fs::path& b, int steps) {
  std::vector<nlohmann::json> ra = metrics_rows(a), rb = metrics_rows(b);
  ASSERT_EQ(ra.size(), static_cast<size_t>(steps));
  ASSERT_EQ(rb.size(), static_cast<size_t>(steps));
  for (int i = 0; i < steps; ++i) EXPECT_EQ(deterministic_part(ra[i]), deterministic_part(rb[i])) << "step " << i + 1;
  EXPECT_TRUE(final_weights(a, steps) == final_weights(b, steps)) << "final weights differ";
}

// train.overlap_scoring: the images sampled in chunks, each chunk scored on a second thread while the
// next is sampled. The captions (seeded per image) and their rewards are the run's without the
// overlap, exactly; the sampler's logprobs of a smaller batch of rows differ in fp32 rounding only,
// so the losses and weights agree within it.
TEST(TrainLoop, ScoringWhileSamplingTrainsTheSameRunAsScoringAfterSampling) {
  const fs::path dir = scratch_dir();
  const fs::path data = synth_data(dir / "data");
  train(write_config(dir / "after", tiny_config(data, dir / "after" / "run")), "--max-steps 3");
  train(write_config(dir / "overlap", tiny_config(data, dir / "overlap" / "run")),
        "--max-steps 3 --set train.overlap_scoring=2");
  const fs::path after = dir / "after" / "run", overlap = dir / "overlap" / "run";
  const auto ra = metrics_rows(after), rb = metrics_rows(overlap);
  ASSERT_EQ(rb.size(), 3u);
  for (int step = 1; step <= 3; ++step) {
    expect_same_row(after, overlap, step, 1e-4);
    for (const char* key : {"reward/correctness/mean", "reward/coverage/mean", "reward/linguistic/mean", "advantage/std"}) {
      EXPECT_EQ(ra[step - 1].at(key), rb[step - 1].at(key)) << "step " << step << " " << key;
    }
    EXPECT_LE(rb[step - 1].at("time/scoring_wait_s").get<double>(), rb[step - 1].at("time/rollout_scoring_s").get<double>());
  }
  EXPECT_EQ(ra[1].at("samples"), rb[1].at("samples"));  // the logged captions, scores and advantages
  expect_same_weights(after, overlap, 3, 1e-4);  // measured 3.3e-5 (a k_proj bias; AdamW scales the rounding up)
}

// train.length_buckets: a mini-batch's rows go to micro-batches shortest first. The captions and
// rewards are the run's without it; the loss adds the same per-token terms in another order, so losses
// and weights agree within fp32 rounding, and the forwards pad less. Captions of varied length: the
// first 15,000 ids stop a caption (the random policy picks one about one token in ten).
TEST(TrainLoop, LengthBucketedMicroBatchesTrainTheSameRunWithLessPadding) {
  const fs::path dir = scratch_dir();
  const fs::path data = synth_data(dir / "data");
  std::string stops = "[0";
  for (int id = 1; id < 15000; ++id) stops += "," + std::to_string(id);
  stops += "]";
  const std::string sets = "--max-steps 2 --set algo.mini_batches=1 --set train.group_size=4 --set train.micro_batch=2 "
                           "--set 'sampling.stop_token_ids=" + stops + "'";
  train(write_config(dir / "plain", tiny_config(data, dir / "plain" / "run")), sets);
  train(write_config(dir / "buckets", tiny_config(data, dir / "buckets" / "run")),
        sets + " --set train.length_buckets=true");
  const auto ra = metrics_rows(dir / "plain" / "run"), rb = metrics_rows(dir / "buckets" / "run");
  ASSERT_EQ(rb.size(), 2u);
  double padding_plain = 0, padding_buckets = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ra[i].at("caption/length_mean"), rb[i].at("caption/length_mean"));
    EXPECT_EQ(ra[i].at("advantage/std"), rb[i].at("advantage/std"));
    for (const char* key : {"loss", "grad_norm", "entropy", "approx_kl"}) {
      EXPECT_LE(relative(ra[i].at(key).get<double>(), rb[i].at(key).get<double>()), 1e-4) << "step " << i + 1 << " " << key;
    }
    padding_plain += ra[i].at("tokens/padding_share").get<double>();
    padding_buckets += rb[i].at("tokens/padding_share").get<double>();
    EXPECT_LE(rb[i].at("tokens/padding_share").get<double>(), ra[i].at("tokens/padding_share").get<double>());
  }
  EXPECT_GT(ra[0].at("caption/length_p90").get<double>(), ra[0].at("caption/length_mean").get<double>())
      << "the captions should differ in length for this test to mean anything";
  EXPECT_LT(padding_buckets, padding_plain);
  expect_same_weights(dir / "plain" / "run", dir / "buckets" / "run", 2, 1e-4);
}

// train.head_grad_in_forward (on by default) against recomputing each logit chunk in backward, with
// the entropy bonus and the KL term on (both add per-token gradient terms) and 2 micro-batches: the
// same captions and rewards, and losses and weights within fp32 rounding.
TEST(TrainLoop, HeadGradientsComputedInTheForwardPassTrainTheSameRunAsRecomputingThem) {
  const fs::path dir = scratch_dir();
  const fs::path data = synth_data(dir / "data");
  const std::string sets = "--max-steps 2 --set train.micro_batch=2 --set algo.entropy_coef=0.01 "
                           "--set algo.kl_coef=0.05";
  train(write_config(dir / "forward", tiny_config(data, dir / "forward" / "run")), sets);
  train(write_config(dir / "backward", tiny_config(data, dir / "backward" / "run")),
        sets + " --set train.head_grad_in_forward=false");
  const auto ra = metrics_rows(dir / "forward" / "run"), rb = metrics_rows(dir / "backward" / "run");
  ASSERT_EQ(ra.size(), 2u);
  ASSERT_EQ(rb.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ra[i].at("caption/length_mean"), rb[i].at("caption/length_mean"));
    EXPECT_EQ(ra[i].at("advantage/std"), rb[i].at("advantage/std"));
    for (const char* key : {"loss", "grad_norm", "entropy", "kl", "approx_kl"}) {
      EXPECT_LE(relative(ra[i].at(key).get<double>(), rb[i].at(key).get<double>()), 1e-4) << "step " << i + 1 << " " << key;
    }
  }
  expect_same_weights(dir / "forward" / "run", dir / "backward" / "run", 2, 1e-4);
}

TEST(TrainLoop, TinyRunLogsEveryObjectivesRewardEveryStep) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = write_config(dir, tiny_config(synth_data(dir / "data"), dir / "run"));
  train(cfg, "--max-steps 3");
  std::vector<nlohmann::json> rows = metrics_rows(dir / "run");
  ASSERT_EQ(rows.size(), 3u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("step"), static_cast<int>(i) + 1);
    for (const char* obj : {"correctness", "coverage", "linguistic"}) {
      for (const char* stat : {"mean", "std", "valid_fraction", "masked_fraction"}) {
        EXPECT_TRUE(rows[i].contains(std::string("reward/") + obj + "/" + stat)) << obj << " " << stat;
      }
    }
    for (const char* key : {"loss", "clip_frac", "kl", "entropy", "grad_norm", "lr", "advantage/std",
                            "caption/length_mean", "caption/length_p90", "caption/truncated_share",
                            "perf/rollout_tokens_per_s", "time/sample_s", "time/reward_s", "time/loss_s"}) {
      EXPECT_TRUE(rows[i].contains(key)) << key;
    }
    EXPECT_TRUE(rows[i].at("loss").is_number());
    EXPECT_EQ(rows[i].at("captions"), 4);
    // The reward phase split into scoring and advantages; b-CapScore beside the objectives; the
    // process's peak memory (CPU: no device figure).
    EXPECT_NEAR(rows[i].at("time/scoring_s").get<double>() + rows[i].at("time/advantage_s").get<double>(),
                rows[i].at("time/reward_s").get<double>(), 1e-3);
    EXPECT_TRUE(rows[i].at("reward/b_capscore").is_number());
    EXPECT_GT(rows[i].at("memory/host_peak_mib").get<double>(), 10.0);
    EXPECT_FALSE(rows[i].contains("memory/device_peak_mib"));
  }
  EXPECT_TRUE(rows[1].contains("samples"));  // samples_every 2
  EXPECT_TRUE(complete_checkpoint(dir / "run", 3));
}

// The tiny random LLaVA writes junk that scores the same within every group, so its c-GDPO
// advantages are 0. Its LLaVA tests add a small entropy bonus and no weight decay: every step then
// has a non-zero gradient through the whole LLaVA forward (CLIP tower, projector, LLaMA decoder),
// and every weight that changes was moved by a gradient.
const std::vector<std::string> kLlavaSets{"--set", "algo.entropy_coef=0.01", "--set", "optim.weight_decay=0"};
// The same flags as one command-line tail (for train()).
const std::string kLlavaArgs = [] {
  std::string out;
  for (const std::string& a : kLlavaSets) out += " " + a;
  return out;
}();

bool changed(const std::map<std::string, at::Tensor>& before, const std::map<std::string, at::Tensor>& after,
             const std::string& prefix) {
  for (const auto& [name, tensor] : before) {
    if (name.rfind(prefix, 0) == 0 && !at::equal(tensor, after.at(name))) return true;
  }
  return false;
}

// `balcap eval` of a trained LLaVA checkpoint (greedy) gives transformers' greedy captions of it.
void expect_eval_captions_match_transformers(const fs::path& cfg, const fs::path& model, const fs::path& data,
                                             const fs::path& out) {
  const std::string prompt = "Describe this image in detail.";  // data.prompt's default
  CommandResult r = run_balcap("eval --config " + shell_quote(cfg.string()) + " --model " + shell_quote(model.string()) +
                               " --data " + shell_quote(data.string()) + " --greedy --out " + shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(read_file(out));
  const std::string script = std::string(kSourceDir) + "/tests/reference/check_llava_generate.py";
  r = run_command(shell_quote(kPython) + " " + shell_quote(script) + " " + shell_quote(model.string()) + " " +
                  shell_quote(data.string()) + " " + shell_quote(prompt) + " 8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto expected = nlohmann::json::parse(r.out.substr(r.out.rfind('{')));
  ASSERT_EQ(report.at("samples").size(), 3u);
  ASSERT_EQ(expected.size(), 3u);
  for (const auto& s : report.at("samples")) {
    EXPECT_EQ(s.at("caption"), expected.at(s.at("id").get<std::string>())) << s.at("id");
  }
  EXPECT_TRUE(report.contains("balanced"));
}

// `balcap export` of a LLaVA LoRA checkpoint: PEFT loads the adapters onto the base (exactly the LM's
// layers) and the merged export equals PEFT's merge in transformers.
void expect_lora_export_matches_peft(const fs::path& step, const fs::path& dir) {
  const fs::path merged = dir / "merged";
  CommandResult r = run_balcap("export --checkpoint " + shell_quote(step.string()) + " --out " + shell_quote(merged.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path inputs = dir / "inputs.json";  // two text rows of LLaMA ids
  write_file(inputs, R"({"ids": [[1, 3148, 1001, 29901, 263, 6635, 373, 263, 1591, 29889], )"
                     R"([1, 319, 7933, 17455, 16246, 297, 278, 2041, 29889, 13]]})");
  const std::string script = std::string(kSourceDir) + "/tests/reference/checkpoint_peft_check.py";
  std::string cmd = shell_quote(kPython) + " " + shell_quote(script);
  for (const fs::path& arg : {reference_path("train", "tiny_llava"), step / "adapter", merged}) cmd += " " + shell_quote(arg.string());
  r = run_command(cmd + " - " + shell_quote(inputs.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = nlohmann::json::parse(r.out.substr(r.out.rfind('{')));
  std::cerr << "PEFT check (LLaVA): " << got.dump() << "\n";
  EXPECT_EQ(got["adapted_layers"], 2 * 7);  // both decoder layers' q/k/v/o/gate/up/down, no CLIP layer
  EXPECT_TRUE(got["loaded_equal"].get<bool>());
  EXPECT_GT(got["lora_effect"].get<double>(), 0.0);
  EXPECT_LE(got["merged_vs_peft_merged"].get<double>(), 1e-4);
  EXPECT_LE(got["merged_vs_peft"].get<double>(), 1e-4);
}

// The same loop on a tiny LLaVA-1.5 (CLIP tower, projector, LLaMA decoder) through the Policy seam:
// rewards every step, gradients into every part, and an exact resume after SIGKILL.
TEST(TrainLoop, TinyLlavaRunLogsRewardsTrainsEveryPartAndResumesExactly) {
  const fs::path dir = scratch_dir();
  const fs::path data = synth_data(dir / "data");
  const fs::path cfg_a = write_config(dir / "a", tiny_config(data, dir / "a" / "run", "", "tiny_llava"));
  const fs::path cfg_b = write_config(dir / "b", tiny_config(data, dir / "b" / "run", "", "tiny_llava"));
  train(cfg_a, "--max-steps 4 --save-every 2" + kLlavaArgs);
  const std::vector<nlohmann::json> rows = metrics_rows(dir / "a" / "run");
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    for (const char* obj : {"correctness", "coverage", "linguistic"}) {
      EXPECT_TRUE(row.contains(std::string("reward/") + obj + "/mean")) << obj;
    }
    EXPECT_EQ(row.at("captions"), 4);
    EXPECT_GT(row.at("grad_norm").get<double>(), 0.0);
  }
  const auto before = io::load_safetensors(reference_path("train", "tiny_llava") / "model.safetensors");
  const auto after = io::load_safetensors(dir / "a" / "run" / "checkpoints" / "step-4" / "model" / "model.safetensors");
  for (const char* part : {"vision_tower.", "multi_modal_projector.", "language_model.model.", "language_model.lm_head."}) {
    EXPECT_TRUE(changed(before, after, part)) << part << " did not change";
  }
  std::vector<std::string> args{"--max-steps", "4", "--save-every", "2"};
  args.insert(args.end(), kLlavaSets.begin(), kLlavaSets.end());
  kill_after_checkpoint(cfg_b, dir / "b" / "run", 2, dir / "b" / "killed.log", args);
  train(cfg_b, "--max-steps 4 --save-every 2 --resume auto" + kLlavaArgs);
  expect_same_runs(dir / "a" / "run", dir / "b" / "run", 4);
  expect_eval_captions_match_transformers(cfg_a, dir / "a" / "run" / "checkpoints" / "step-4" / "model", data,
                                          dir / "a" / "eval.json");
}

// LLaVA's tower and projector freeze by their names (vision_tower.*, multi_modal_projector.*), and
// LoRA adapts its language model as it does Qwen's.
TEST(TrainLoop, TinyLlavaFreezesTowerAndProjectorAndTrainsLoraAdapters) {
  const fs::path dir = scratch_dir();
  const fs::path data = synth_data(dir / "data");
  const fs::path cfg = write_config(dir / "frozen", tiny_config(data, dir / "frozen" / "run", "", "tiny_llava"));
  train(cfg, "--max-steps 2 --set train.freeze_vision=true --set train.freeze_projector=true" + kLlavaArgs);
  const auto before = io::load_safetensors(reference_path("train", "tiny_llava") / "model.safetensors");
  const auto after = io::load_safetensors(dir / "frozen" / "run" / "checkpoints" / "step-2" / "model" / "model.safetensors");
  EXPECT_FALSE(changed(before, after, "vision_tower.")) << "the frozen tower changed";
  EXPECT_FALSE(changed(before, after, "multi_modal_projector.")) << "the frozen projector changed";
  EXPECT_TRUE(changed(before, after, "language_model.model.")) << "the language model did not train";

  const fs::path lora = write_config(dir / "lora", tiny_config(data, dir / "lora" / "run", "", "tiny_llava"));
  train(lora, "--max-steps 2 --save-every 2 --set train.lora.enabled=true --set train.lora.r=4" + kLlavaArgs);
  EXPECT_TRUE(fs::exists(dir / "lora" / "run" / "checkpoints" / "step-2" / "adapter" / "adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "lora" / "run" / "checkpoints" / "step-2" / "model"));
  EXPECT_GT(metrics_rows(dir / "lora" / "run").back().at("grad_norm").get<double>(), 0.0);
  expect_lora_export_matches_peft(dir / "lora" / "run" / "checkpoints" / "step-2", dir / "lora");
}

// `balcap sft` on `policy` for 6 steps of batch 3 (= the dataset, the same 3 records every step): the
// reference loss falls and the model for RL is written. Returns the run's config.
fs::path expect_sft_lowers_the_reference_loss(const fs::path& dir, const std::string& policy) {
  const fs::path cfg = write_config(
      dir, tiny_config(synth_data(dir / "data"), dir / "run",
                       "sft:\n  max_steps: 6\n  save_every: 3\n  batch_size: 3\n  lr: 3.0e-3\n  references: first\n",
                       policy));
  CommandResult r = run_balcap("sft --config " + shell_quote(cfg.string()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> rows = metrics_rows(dir / "run" / "sft");
  EXPECT_EQ(rows.size(), 6u);
  if (rows.size() == 6u) {
    EXPECT_LT(rows.back().at("loss").get<double>(), rows.front().at("loss").get<double>());
  }
  EXPECT_TRUE(fs::exists(dir / "run" / "sft" / "model" / "model.safetensors"));
  return cfg;
}

// SFT through the same Policy seam: LLaVA's references as "ASSISTANT: {caption}</s>" targets.
TEST(TrainLoop, TinyLlavaSftLowersTheReferenceLoss) { expect_sft_lowers_the_reference_loss(scratch_dir(), "tiny_llava"); }

TEST(TrainLoop, RunKilledDuringStep4ResumesToIdenticalMetricsAndWeights) {
  const fs::path dir = scratch_dir();
  const fs::path data = synth_data(dir / "data");
  const fs::path cfg_a = write_config(dir / "a", tiny_config(data, dir / "a" / "run"));
  const fs::path cfg_b = write_config(dir / "b", tiny_config(data, dir / "b" / "run"));
  train(cfg_a);
  kill_after_checkpoint(cfg_b, dir / "b" / "run", 3, dir / "b" / "killed.log");
  train(cfg_b, "--resume auto");
  expect_same_runs(dir / "a" / "run", dir / "b" / "run", 6);
}

TEST(TrainLoop, ResumedTwiceAcrossEpochBoundariesEqualsTheUninterruptedRun) {
  // 3 records, 2 per step: steps 2, 4 and 6 straddle epochs; killed after checkpoints 2 and 4.
  const fs::path dir = scratch_dir();
  const fs::path data = synth_data(dir / "data");
  const fs::path cfg_a = write_config(dir / "a", tiny_config(data, dir / "a" / "run"));
  const fs::path cfg_b = write_config(dir / "b", tiny_config(data, dir / "b" / "run"));
  train(cfg_a);
  kill_after_checkpoint(cfg_b, dir / "b" / "run", 2, dir / "b" / "k1.log", {"--save-every", "2"});
  kill_after_checkpoint(cfg_b, dir / "b" / "run", 4, dir / "b" / "k2.log", {"--save-every", "2", "--resume", "auto"});
  train(cfg_b, "--save-every 2 --resume auto");
  expect_same_runs(dir / "a" / "run", dir / "b" / "run", 6);
  nlohmann::json state = nlohmann::json::parse(read_file(dir / "b" / "run" / "checkpoints" / "step-4" /
                                                         "trainer_state.json"));
  EXPECT_EQ(state.at("epoch"), 2);  // 8 records handed out of 3 per epoch
}

TEST(TrainLoop, SigtermSavesACheckpointAndExitsZero) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = write_config(dir, tiny_config(synth_data(dir / "data"), dir / "run"));
  Child c = spawn_balcap({"train", "--config", cfg.string(), "--max-steps", "50", "--save-every", "0"}, dir / "log");
  ASSERT_GT(c.pid, 0);
  if (!wait_for([&] { return metrics_rows(dir / "run").size() >= 1; })) {
    c.signal(SIGKILL);
    c.wait_exit();
    FAIL() << "no step finished: " << read_file(dir / "log");
  }
  c.signal(SIGTERM);
  EXPECT_EQ(c.wait_exit(), 0) << read_file(dir / "log");
  const std::string log = read_file(dir / "log");
  EXPECT_NE(log.find("stopped by SIGTERM"), std::string::npos) << log;
  const auto steps = static_cast<int>(metrics_rows(dir / "run").size());
  EXPECT_TRUE(complete_checkpoint(dir / "run", steps)) << log;
  // And the run continues from it.
  train(cfg, "--save-every 0 --resume auto --resume-force --max-steps " + std::to_string(steps + 1));
  EXPECT_EQ(metrics_rows(dir / "run").size(), static_cast<size_t>(steps + 1));
}

// A JSONL of the 3 synthetic records plus bad lines: bad JSON, a missing image, no id, and an
// image whose header is fine but whose body does not decode (found only when the step needs it).
fs::path bad_data(const fs::path& dir) {
  const fs::path good = synth_data(dir);
  std::string text = read_file(good);
  fs::copy_file(data_path("images/truncated.jpg"), dir / "images" / "broken.jpg");
  text += "{not json\n";
  text += R"({"id": "gone", "image": "images/nope.png", "references": ["x"]})" "\n";
  text += R"({"image": "images/train-000000.png", "references": ["x"]})" "\n";
  text += R"({"id": "broken", "image": "images/broken.jpg", "references": ["a broken image"]})" "\n";
  write_file(dir / "bad.jsonl", text);
  return dir / "bad.jsonl";
}

TEST(TrainLoop, BadRecordsAreSkippedAndCountedUnderSkip) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = write_config(dir, tiny_config(bad_data(dir / "data"), dir / "run"));
  CommandResult r = run_balcap("train --config " + shell_quote(cfg.string()) + " --max-steps 4 --save-every 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("3 bad"), std::string::npos) << r.err;  // the load report counts the bad lines
  std::vector<nlohmann::json> rows = metrics_rows(dir / "run");
  ASSERT_EQ(rows.size(), 4u);
  std::int64_t skipped = 0;
  for (const auto& row : rows) skipped += row.at("images_skipped").get<std::int64_t>();
  EXPECT_GE(skipped, 1) << "the undecodable image was never skipped";
  EXPECT_EQ(rows.back().at("images_skipped_total").get<std::int64_t>(), skipped);
}

TEST(TrainLoop, BadRecordsStopTheRunBeforeTrainingUnderFail) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = write_config(dir, tiny_config(bad_data(dir / "data"), dir / "run"));
  CommandResult r = run_balcap("train --config " + shell_quote(cfg.string()) + " --set data.on_bad_record=fail");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(":4:"), std::string::npos) << r.err;  // the line of the bad JSON
  EXPECT_FALSE(fs::exists(dir / "run" / "metrics.jsonl"));
}

TEST(TrainLoop, SftLowersTheReferenceLossAndWritesTheModelForRl) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = expect_sft_lowers_the_reference_loss(dir, "tiny_policy");
  // The RL phase starts from it.
  train(cfg, "--max-steps 1 --set model.path=" + shell_quote((dir / "run" / "sft" / "model").string()));
  EXPECT_EQ(metrics_rows(dir / "run").size(), 1u);
}

TEST(TrainLoop, LoraRunSavesPeftAdaptersAndResumesFromThem) {
  const fs::path dir = scratch_dir();
  const fs::path cfg = write_config(dir, tiny_config(synth_data(dir / "data"), dir / "run"));
  train(cfg, "--max-steps 2 --save-every 1 --set train.lora.enabled=true --set train.lora.r=4");
  const fs::path step2 = dir / "run" / "checkpoints" / "step-2";
  EXPECT_TRUE(fs::exists(step2 / "adapter" / "adapter_config.json"));
  EXPECT_TRUE(fs::exists(step2 / "adapter" / "adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(step2 / "model"));
  train(cfg, "--max-steps 3 --resume-force --set train.lora.enabled=true --set train.lora.r=4");
  std::vector<nlohmann::json> rows = metrics_rows(dir / "run");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_GT(rows.back().at("grad_norm").get<double>(), 0.0);  // adapters receive gradients
}

}  // namespace
}  // namespace balcap::test
