// The RL loop (`balcap train`); see src/train/train_loop.h.
#include "train/train_loop.h"

#include <chrono>

#include "checkpoint/rng_state.h"
#include "core/error.h"
#include "core/log.h"
#include "models/load_policy.h"
#include "rewards/build_objectives.h"
#include "train/mfu.h"
#include "train/peak_memory.h"
#include "train/progress.h"
#include "train/reward_phase.h"
#include "train/scoring_pipeline.h"
#include "train/step_metrics.h"
#include "train/stop_signal.h"
#include "train/update_phase.h"

namespace balcap::train {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// What the loop holds besides the session.
struct RlParts {
  std::vector<std::unique_ptr<rewards::Objective>> objectives;
  std::unique_ptr<models::Policy> reference;  // only with algo.kl_coef > 0
  std::unique_ptr<ReferenceLengths> reference_lengths;
  std::unique_ptr<dist::OverlappedGradSync> overlap;  // several ranks with dist.overlap_grad_sync
  double last_checkpoint_seconds = 0;
  std::optional<double> peak_flops;  // the device's dense peak FLOP/s (CUDA with a known GPU): perf/mfu
  ParamCounts params;                // the policy's parameters by part, for perf/mfu
};

// perf/mfu: the step's model FLOPs (all ranks) over (step seconds x peak x ranks); src/train/mfu.h.
void add_mfu(nlohmann::json& row, const RlParts& parts, const Rollout& rollout, const config::Config& cfg,
             double step_seconds, dist::Communicator& comm) {
  StepWork w = rank_step_work(rollout, cfg.algo.ppo_epochs, cfg.train.vision_once_per_image, parts.reference != nullptr);
  std::vector<double> v{w.prompt_tokens,   w.generated_tokens,    w.rollout_patches,
                        w.loss_row_tokens, w.loss_caption_tokens, w.loss_patches};
  comm.all_reduce_sum(v);
  w.prompt_tokens = v[0], w.generated_tokens = v[1], w.rollout_patches = v[2];
  w.loss_row_tokens = v[3], w.loss_caption_tokens = v[4], w.loss_patches = v[5];
  const double ranks = static_cast<double>(comm.world_size());
  row["perf/mfu"] = step_model_flops(parts.params, w) / (step_seconds * *parts.peak_flops * ranks);
}

std::unique_ptr<models::Policy> load_reference(const Session& s) {
  if (s.config.algo.kl_coef <= 0) return nullptr;  // no reference model at all
  const std::string path = s.config.model.reference_path.empty() ? s.config.model.path : s.config.model.reference_path;
  std::unique_ptr<models::Policy> ref = models::load_policy(path, s.dtype, s.device);
  ref->module().eval();
  for (auto& p : ref->module().parameters()) p.requires_grad_(false);
  spdlog::info("KL reference policy {} loaded (kl_coef {})", path, s.config.algo.kl_coef);
  return ref;
}

// The state a dropped step must leave untouched: the data cursor and the CPU RNG.
struct StepSnapshot {
  nlohmann::json cursor;
  std::string cpu_rng;
};

StepSnapshot snapshot(const Session& s) {
  return {s.order->state(), checkpoint::generator_state_base64(at::detail::getDefaultCPUGenerator())};
}

void restore(Session& s, const StepSnapshot& snap) {
  s.order->restore(snap.cursor);
  at::Generator cpu = at::detail::getDefaultCPUGenerator();
  checkpoint::restore_generator_state(cpu, snap.cpu_rng, "torch_cpu");
}

enum class StepEnd { kDone, kDropped };

bool any_rank_has_images(const Rollout& rollout, dist::Communicator& comm) {
  std::vector<double> n{static_cast<double>(rollout.items.size())};
  comm.all_reduce_sum(n);
  return n[0] > 0;
}

void count_total(Session& s, const char* key, std::int64_t n) { s.totals[key] = s.totals.value(key, std::int64_t{0}) + n; }

// One RL step; kDropped when a stop signal came before any optimizer update.
StepEnd rl_step(Session& s, RlParts& parts, Progress& progress) {
  const config::Config& cfg = s.config;
  const auto t_step = Clock::now();
  reset_device_peak(s.device);
  const StepSnapshot snap = snapshot(s);
  const std::vector<std::int64_t> indices = s.order->next(cfg.train.batch_size);
  // This rank's share of the batch, sampled and scored (overlapped with train.overlap_scoring > 1).
  ScoringPipeline scoring(parts.objectives, cfg.train.overlap_scoring > 1);
  const auto t_rollout = Clock::now();
  Rollout rollout = rollout_phase(s.rollout_inputs(), indices, s.step + 1, cfg.train.overlap_scoring,
                                  [&scoring](const Rollout& r, std::size_t b, std::size_t e) { scoring.add(r, b, e); });
  const ScoredRollout scored = scoring.finish();
  StepTimes times{rollout.preprocess_seconds, rollout.sample_seconds};
  times.rollout_scoring = since(t_rollout);
  times.scoring_wait = scored.wait_seconds;
  if (stop_agreed(*s.comm)) return restore(s, snap), StepEnd::kDropped;
  RewardOutcome rewards;
  UpdateOutcome update;
  if (any_rank_has_images(rollout, *s.comm)) {  // every rank runs the phases' collectives, rows or not
    rewards = reward_phase(cfg, scored.matrix, scored.busy_seconds, rollout, *parts.reference_lengths, *s.comm);
    times.reward = rewards.seconds;
    times.scoring = rewards.scoring_seconds;
    times.advantage = rewards.advantage_seconds;
    if (stop_agreed(*s.comm)) return restore(s, snap), StepEnd::kDropped;
    UpdateInputs in{&cfg,          s.policy.get(),   parts.reference.get(), s.optimizer.get(),
                    s.schedule.get(), s.comm.get(), &s.param_owners,    parts.overlap.get(), s.step + 1};
    update = update_phase(in, rollout, rewards.advantage.advantages, s.updates);
    if (update.aborted) return restore(s, snap), StepEnd::kDropped;
    times.update = update.seconds;
    times.optimizer = update.optimizer_seconds;
  } else {
    spdlog::warn("step {}: no image of the batch could be decoded; nothing to train on", s.step + 1);
  }
  const StepCounts counts = step_counts(rollout, update, *s.comm);
  s.step += 1;
  s.bad_in_a_row = update.skipped_steps > 0 ? s.bad_in_a_row + 1 : 0;
  count_total(s, "images_skipped", counts.images_skipped);
  count_total(s, "skipped_optimizer_steps", update.skipped_steps);
  times.checkpoint = parts.last_checkpoint_seconds;  // the previous save (this step's comes after its row)
  times.step = since(t_step);
  const PeakMemory peak = peak_memory(s.device);
  times.host_peak_mib = peak.host_mib;
  times.device_peak_mib = peak.device_mib;
  nlohmann::json row = step_metrics(s.step, s.order->cursor().epoch, counts, rewards, update,
                                    length_stats(rollout, *parts.reference_lengths, *s.comm), times);
  row["images_skipped_total"] = s.totals["images_skipped"];
  if (parts.peak_flops) add_mfu(row, parts, rollout, cfg, times.step, *s.comm);
  if (cfg.logging.samples_every > 0 && s.step % cfg.logging.samples_every == 0 && !rollout.samples.empty()) {
    row["samples"] = caption_samples(rollout, rewards, cfg.logging.samples_count);
    for (const auto& c : row["samples"]) spdlog::info("step {} sample {}: {}", s.step, c.at("id").get<std::string>(), c.dump());
  }
  s.write_metrics(row);  // before the checkpoint: a checkpoint of step N always has row N on disk
  parts.last_checkpoint_seconds = s.maybe_save(cfg.train.save_every);
  progress.update(s.step, fmt::format("loss {:.4f} adv_std {:.3f} len {:.1f}", update.loss,
                                      rewards.advantage.stats.std, row["caption/length_mean"].get<double>()));
  return StepEnd::kDone;
}

bool saved_at_current_step(const Session& s) { return checkpoint::is_complete(s.checkpointer->step_dir(s.step)); }

void save_unless_saved(Session& s) {
  if (!saved_at_current_step(s)) s.save_checkpoint();
}

// train.max_skipped_steps steps in a row that skipped an update: a checkpoint of the run as it is, then
// an error (exit 1), so that a diverged run neither goes on silently nor loses its last state.
void check_skipped_steps(Session& s) {
  if (s.bad_in_a_row < s.config.train.max_skipped_steps) return;
  save_unless_saved(s);
  fail("stopped after step {}: {} steps in a row skipped their optimizer update because of a non-finite loss or "
       "gradient (train.max_skipped_steps = {}; the log names each step and tensor); checkpoint {} saved. HINT: "
       "lower optim.lr, clip harder (a smaller optim.grad_clip), check the data and rewards; then resume with "
       "--resume auto, or from an earlier checkpoint with --resume PATH",
       s.step, s.bad_in_a_row, s.config.train.max_skipped_steps, s.checkpointer->step_dir(s.step).string());
}

}  // namespace

int run_training(const config::Config& config, const RunArgs& args) {
  install_stop_handlers();
  Session s(config, args, config.algo.ppo_epochs * config.algo.mini_batches);
  RlParts parts;
  parts.objectives = rewards::build_objectives(config.rewards, s.device);
  parts.reference = load_reference(s);
  parts.reference_lengths = std::make_unique<ReferenceLengths>(*s.tokenizer);
  parts.peak_flops = peak_flops(s.device, s.dtype, config.logging.peak_tflops);
  if (parts.peak_flops) {
    parts.params = count_params(s.policy->module(), static_cast<double>(s.policy->output_weight().numel()));
  } else if (s.device.is_cuda()) {
    spdlog::info("perf/mfu is not logged: this GPU is not in balcap's table (src/train/mfu.cpp); set "
                 "logging.peak_tflops to its dense peak");
  }
  if (s.comm->world_size() > 1 && config.dist.overlap_grad_sync) {
    parts.overlap = std::make_unique<dist::OverlappedGradSync>(
        s.optimizer->tensors(), *s.comm, config.dist.bucket_bytes(), s.param_owners);
  }
  Progress progress(config.train.max_steps, s.step, config.logging.progress);
  while (s.step < config.train.max_steps) {
    if (rl_step(s, parts, progress) == StepEnd::kDropped || stop_agreed(*s.comm)) {
      save_unless_saved(s);
      progress.finish();
      spdlog::info("stopped by {} after step {}: checkpoint {}; continue with --resume auto", stop_signal_name(),
                   s.step, s.checkpointer->step_dir(s.step).string());
      return 0;
    }
    check_skipped_steps(s);
  }
  save_unless_saved(s);
  progress.finish();
  spdlog::info("training finished: {} steps; checkpoint {}", s.step, s.checkpointer->step_dir(s.step).string());
  remove_stop_handlers();
  return 0;
}

}  // namespace balcap::train
