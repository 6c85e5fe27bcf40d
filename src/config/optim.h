#pragma once
// `optim:` — AdamW with fp32 master state, global-norm clipping, warmup + schedule.
// Defaults follow verl's actor optimizer (lr 1e-6, weight decay 0.01, clip 1.0).
#include <cstdint>
#include <string>
#include <vector>

#include "config/spec.h"

namespace balcap::config {

struct OptimConfig {
  double lr = 1e-6;
  std::vector<double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.01;
  double grad_clip = 1.0;
  std::int64_t warmup_steps = 0;
  std::string schedule = "constant";
  double min_lr = 0.0;
  double vision_lr_scale = 1.0;
  double projector_lr_scale = 1.0;
  bool fp32_master = true;

  template <class V>
  void visit(V& v) {
    v.field("lr", lr, "Peak learning rate (after warmup).", Spec().above(0).at_most(1));
    v.field("betas", betas, "AdamW (beta1, beta2).", Spec().size(2).at_least(0).below(1));
    v.field("eps", eps, "AdamW epsilon.", Spec().above(0).at_most(1));
    v.field("weight_decay", weight_decay, "Decoupled weight decay.", Spec().at_least(0).at_most(1));
    v.field("grad_clip", grad_clip, "Clip the global gradient norm to this; 0 = no clipping.", Spec().at_least(0));
    v.field("warmup_steps", warmup_steps, "Linear warmup from 0 to lr over this many optimizer steps.",
            Spec().at_least(0));
    v.field("schedule", schedule, "After warmup: `constant` lr, or `cosine` decay to min_lr at train.max_steps.",
            Spec().one_of({"constant", "cosine"}));
    v.field("min_lr", min_lr, "cosine: the final learning rate.", Spec().at_least(0));
    v.field("vision_lr_scale", vision_lr_scale,
            "The vision tower's learning rate is the schedule's times this (LLaVA's mm_vision_tower_lr); "
            "applies to SFT and RL.",
            Spec().above(0).at_most(10));
    v.field("projector_lr_scale", projector_lr_scale,
            "The vision-to-language projector's (Qwen2.5-VL visual.merger) learning rate is the schedule's times "
            "this (LLaVA's mm_projector_lr).",
            Spec().above(0).at_most(10));
    v.field("fp32_master", fp32_master, "Keep fp32 master weights and AdamW moments for bf16/f16 parameters.");
  }
  bool operator==(const OptimConfig&) const = default;
};

}  // namespace balcap::config
