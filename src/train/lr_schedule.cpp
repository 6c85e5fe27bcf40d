#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace balcap::train {

LrSchedule::LrSchedule(const config::OptimConfig& o, int64_t total_steps)
    : lr_(o.lr), min_lr_(o.min_lr), warmup_(o.warmup_steps), total_(total_steps), cosine_(o.schedule == "cosine") {
  BALCAP_CHECK(o.schedule == "constant" || o.schedule == "cosine",
               "optim.schedule '{}' is not supported. HINT: use `constant` or `cosine`", o.schedule);
  BALCAP_CHECK(!cosine_ || min_lr_ <= lr_, "optim.min_lr {} is above optim.lr {}. HINT: cosine decays to min_lr",
               min_lr_, lr_);
}

double LrSchedule::lr_at(int64_t step) const {
  if (step < warmup_) return lr_ * (static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_)));
  if (!cosine_) return lr_;
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup_) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_)));
  // transformers computes the factor relative to lr (min_lr_rate = min_lr / lr), then multiplies.
  const double rate = min_lr_ / lr_;
  const double factor = 0.5 * (1.0 + std::cos(M_PI * progress)) * (1.0 - rate) + rate;
  return lr_ * std::max(0.0, factor);
}

int64_t LrSchedule::step_from_state(const nlohmann::json& state, const std::string& source) {
  BALCAP_CHECK(state.is_object() && state.contains("step") && state["step"].is_number_integer(),
               "{}: lr_schedule state {} lacks an integer 'step'. HINT: the checkpoint is damaged", source,
               state.dump());
  return state["step"].get<int64_t>();
}

}  // namespace balcap::train
