#pragma once
// Private to src/train: AdamW (decoupled weight decay, as torch.optim.AdamW single-tensor path) with fp32 master weights
// and fp32 moments for bf16/f16 parameters, plus global-norm gradient clipping.
//
// API summary:
//   AdamW opt(named_trainable_params, adamw_options_from(cfg.optim));
//   ... backward() over the micro-batches ...
//   GradNorm g = opt.clip_grad_norm(cfg.optim.grad_clip);   // norm before clipping (fp32)
//   if (!g.finite) { opt.zero_grad(); /* skip the step, count it */ }
//   else opt.step(schedule.lr_at(opt_steps));
//   opt.zero_grad();
//   save_optimizer_state(opt, optimizer_file(dir, rank));                   // checkpoint
//   load_optimizer_state(opt, optimizer_file(dir, rank));                   // resume
//
// Master weights: a float32 parameter is its own master (no copy). A bf16/f16 parameter gets a
// float32 copy that the update is applied to, then rounded back into the parameter; moments are
// always float32. Parameters whose grad is undefined are skipped (their step count does not move),
// as torch does.
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "config/optim.h"
#include "dist/communicator.h"

namespace balcap::train {

using NamedParams = std::vector<std::pair<std::string, at::Tensor>>;

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  bool fp32_master = true;  // false: low-precision params are updated in place in their own dtype
};
AdamWOptions adamw_options_from(const config::OptimConfig& optim);

struct GradNorm {
  double norm = 0.0;   // global L2 norm of every defined grad, computed in float32, before clipping
  bool finite = true;  // false: NaN/Inf somewhere; grads were left untouched
  bool clipped = false;
};

class AdamW {
 public:
  // `params`: the trainable tensors (leaf, requires_grad), unique names (used as state keys).
  // `lr_scales`: one multiplier of step()'s lr per param (empty = all 1), e.g. a smaller rate for
  // the vision tower (optim.vision_lr_scale).
  // `owned` (empty = all): with a sharded optimizer (dist.sharded_optimizer), the params whose state
  // this rank keeps and updates; the others get no master copy or moments and step() leaves them
  // (their owner's new values arrive by broadcast).
  AdamW(NamedParams params, AdamWOptions options, std::vector<double> lr_scales = {}, std::vector<bool> owned = {});

  // As torch.nn.utils.clip_grad_norm_: total = ||(||g_i||_2)_i||_2; when max_norm > 0 every grad is
  // multiplied by min(1, max_norm / (total + 1e-6)). A non-finite total leaves the grads as they are.
  // `sharded` (the grads are spread over ranks, each on its owner only: dist/grad_sync.h with owners):
  // total is over every rank's grads, one host all-reduce of the squares; every rank must call it.
  GradNorm clip_grad_norm(double max_norm, dist::Communicator* sharded = nullptr);

  // One AdamW update at learning rate `lr` (times the param's lr scale) of every parameter that
  // has a grad.
  void step(double lr);
  // Grads set undefined (torch's set_to_none).
  void zero_grad();

  // "<name>.exp_avg", "<name>.exp_avg_sq" (float32, param shape), "<name>.step" (int64 [1]) and, for
  // low-precision params with fp32 master, "<name>.master" (float32). CPU copies.
  std::vector<std::pair<std::string, at::Tensor>> state_dict() const;
  // Restores what state_dict() wrote (tensors moved to the params' device). Missing, unexpected or
  // mis-shaped entries -> balcap::Error listing them, naming `source`. The params themselves are
  // not changed unless a master copy is restored (then the param is set from it).
  void load_state_dict(const std::vector<std::pair<std::string, at::Tensor>>& state, const std::string& source);

  const NamedParams& params() const { return params_; }
  // The same tensors without their names (the gradient sync's view).
  std::vector<at::Tensor> tensors() const;
  bool owns(std::size_t i) const { return owned_[i]; }
  const AdamWOptions& options() const { return options_; }

 private:
  struct Slot {
    at::Tensor master;  // float32; the param itself when it is float32 (or fp32_master is off)
    at::Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
    bool separate = false;  // master is an fp32 copy (else a view of the param itself)
  };
  NamedParams params_;
  std::vector<Slot> slots_;
  AdamWOptions options_;
  std::vector<double> lr_scales_;  // [params]
  std::vector<bool> owned_;        // [params]
  at::Tensor grad_scale_;  // clip coefficient pending for low-precision grads (undefined = none)
};

// optim/rank-<R>.safetensors (checkpoint::optimizer_file) <-> the optimizer's state: atomic write of
// state_dict() (the owned params' state). load reads every optim/rank-*.safetensors of a checkpoint
// and takes the keys of this optimizer's owned params, so a checkpoint of any world size, sharded or
// not, resumes on any other; a missing, unexpected or misshapen key -> balcap::Error naming the files.
void save_optimizer_state(const AdamW& optimizer, const std::filesystem::path& file);
void load_optimizer_state(AdamW& optimizer, const std::filesystem::path& optim_dir);

}  // namespace balcap::train
