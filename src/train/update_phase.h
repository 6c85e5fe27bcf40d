#pragma once
// Private to src/train: Update phase of a step (docs/architecture.md §1, §7): algo.ppo_epochs passes over the rollout; each pass cuts
// the N captions into algo.mini_batches mini-batches (one optimizer step each), each mini-batch into
// micro-batches of train.micro_batch rows (or train.grad_accum of them) whose backward passes
// accumulate. Per micro-batch: completion logprobs with grad (chunked, no [T, V] logits), the
// reference policy's (only when algo.kl_coef > 0), the PPO loss with the mini-batch's aggregation
// weights. Per mini-batch: global-norm clip, AdamW at the schedule's lr; a non-finite loss or
// gradient skips that optimizer step (logged with the step and the tensor, counted).
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "dist/communicator.h"
#include "dist/grad_sync.h"
#include "models/policy.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/rollout.h"

namespace balcap::train {

struct UpdateInputs {
  const config::Config* config = nullptr;
  models::Policy* policy = nullptr;
  models::Policy* reference = nullptr;  // frozen KL reference; null when algo.kl_coef == 0
  AdamW* optimizer = nullptr;
  const LrSchedule* schedule = nullptr;
  dist::Communicator* comm = nullptr;
  const std::vector<std::int64_t>* param_owners = nullptr;  // sharded optimizer: each param's owner rank
  dist::OverlappedGradSync* overlap = nullptr;  // dist.overlap_grad_sync on several ranks; else null
  std::int64_t step = 0;  // the step being run (1-based): named by the log line of a skipped update
};

struct UpdateOutcome {
  // Means over the step's mini-batches of each mini-batch's aggregated value.
  double loss = 0, pg_loss = 0, kl = 0, entropy = 0, clip_frac = 0, approx_kl = 0;
  double grad_norm = 0;      // mean over the applied and skipped mini-batches (pre-clip)
  double grad_norm_max = 0;  // largest finite pre-clip norm
  double lr = 0;             // lr of the last optimizer step
  std::int64_t optimizer_steps = 0;  // applied
  std::int64_t skipped_steps = 0;    // non-finite loss or gradient
  std::int64_t tokens = 0;           // completion tokens processed (forward + backward), all passes
  std::int64_t positions = 0;        // forward positions of the loss rows (prompt + caption), all passes
  std::int64_t padding = 0;          // right-padding positions beside them (micro-batches pad to their longest row)
  double seconds = 0;
  double optimizer_seconds = 0;
  bool aborted = false;  // a stop signal came before the first optimizer step: nothing was changed
};

// `updates_done`: optimizer steps applied so far in the run (the schedule's position); advanced.
UpdateOutcome update_phase(const UpdateInputs& in, const Rollout& rollout, const std::vector<double>& advantages,
                           std::int64_t& updates_done);

// [first, last) row ranges of `parts` near-equal consecutive parts of n rows (the first n % parts
// get one more).
std::vector<std::pair<std::int64_t, std::int64_t>> split_evenly(std::int64_t n, std::int64_t parts);

// The mini-batches of this rank's n rows: split_evenly(n, mini_batches) in one process; with several
// ranks, min(mini_batches, global rows) ranges on every rank (some may be empty), so every rank runs
// the same number of optimizer steps. The global mini-batch k is the union of the ranks' k-th ranges:
// the same images as in one process when the batch divides into world_size x mini_batches.
std::vector<std::pair<std::int64_t, std::int64_t>> mini_batch_ranges(std::int64_t n, std::int64_t mini_batches,
                                                                     dist::Communicator& comm);

// Micro-batches of one mini-batch of n rows: train.grad_accum parts when set, else ceil(n / micro_batch).
std::int64_t micro_batch_count(const config::TrainConfig& train, std::int64_t n);

// Why an optimizer step is skipped, for its log line: "the loss is nan", "the gradient of <param> is
// non-finite" (the first trainable parameter in order, and how many more), or both. Reads every
// gradient: call it only once the loss or the gradient norm was found non-finite.
std::string non_finite_tensors(double loss, const AdamW& optimizer);

// Fault points of the reliability tests (core/fault_points.h), reached by the RL and SFT updates:
// update.loss (nan): a micro-batch's loss becomes NaN before its backward (so do its gradients);
// update.grad (nan): once per optimizer step, after the gradients are summed over the micro-batches
// and ranks and before clipping, the last trainable parameter's gradient becomes NaN.
void loss_fault_point(at::Tensor& loss);
void gradient_fault_point(const AdamW& optimizer);

}  // namespace balcap::train
