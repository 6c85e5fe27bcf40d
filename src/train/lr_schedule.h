#pragma once
// Private to src/train: Learning-rate schedule: linear warmup from 0, then constant or cosine decay to min_lr, exactly as
// transformers' get_constant_schedule_with_warmup / get_cosine_with_min_lr_schedule_with_warmup
// (LambdaLR): the lr of optimizer step k (k = updates already applied, from 0) is
//   k < W:  lr * k / max(1, W)                     (so the very first update has lr 0 when W > 0)
//   else:   constant: lr;  cosine: min_lr + (lr - min_lr) * 0.5 * (1 + cos(pi * min(1, (k - W) / max(1, T - W))))
// State = k alone (checkpointed as {"step": k}); the trainer decides what counts as T (total updates).
//
//   LrSchedule schedule(cfg.optim, total_updates);
//   double lr = schedule.lr_at(updates_done);
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "config/optim.h"

namespace balcap::train {

class LrSchedule {
 public:
  LrSchedule(const config::OptimConfig& optim, int64_t total_steps);

  double lr_at(int64_t step) const;

  static nlohmann::json state(int64_t step) { return {{"step", step}}; }
  // {"step": k} -> k; anything else -> balcap::Error naming `source`.
  static int64_t step_from_state(const nlohmann::json& state, const std::string& source);

 private:
  double lr_, min_lr_;
  int64_t warmup_, total_;
  bool cosine_;
};

}  // namespace balcap::train
