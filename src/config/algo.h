#pragma once
// `algo:` — advantages and the policy loss (docs/architecture.md §7). Clip 0.2 / 0.28 is DAPO's
// "clip-higher" (verl clip_ratio_low/high); KL off by default as in DAPO/verl GRPO recipes.
#include <cstdint>
#include <string>

#include "config/spec.h"

namespace balcap::config {

struct AlgoConfig {
  std::string advantage = "gdpo";
  double eps = 1e-6;
  bool batch_normalize = true;
  double clip_low = 0.2;
  double clip_high = 0.28;
  double kl_coef = 0.0;
  std::string kl_estimator = "k3";
  double entropy_coef = 0.0;
  std::string loss_aggregation = "token_mean";
  std::int64_t ppo_epochs = 1;
  std::int64_t mini_batches = 1;

  template <class V>
  void visit(V& v) {
    v.field("advantage", advantage,
            "`gdpo`: normalise each objective inside its group, then the weighted sum; "
            "`grpo`: normalise the weighted sum of raw scores.",
            Spec().one_of({"gdpo", "grpo"}));
    v.field("eps", eps, "Added to every standard deviation before dividing.", Spec().above(0).at_most(1));
    v.field("batch_normalize", batch_normalize,
            "GDPO: normalise the summed advantage over the whole global batch (all ranks).");
    v.field("clip_low", clip_low, "PPO ratio clip below: ratio >= 1 - clip_low.", Spec().at_least(0).below(1));
    v.field("clip_high", clip_high, "PPO ratio clip above: ratio <= 1 + clip_high.", Spec().at_least(0).at_most(10));
    v.field("kl_coef", kl_coef, "KL-to-reference coefficient; 0 = no reference model is loaded.",
            Spec().at_least(0).at_most(100));
    v.field("kl_estimator", kl_estimator, "KL estimator (Schulman's k1, k2, k3).", Spec().one_of({"k1", "k2", "k3"}));
    v.field("entropy_coef", entropy_coef, "Entropy bonus coefficient; 0 = entropy is only logged.",
            Spec().at_least(0).at_most(1));
    v.field("loss_aggregation", loss_aggregation,
            "`token_mean`: mean over all tokens of the batch; `seq_mean`: mean per sequence, then over sequences.",
            Spec().one_of({"token_mean", "seq_mean"}));
    v.field("ppo_epochs", ppo_epochs, "Passes over one rollout batch.", Spec().at_least(1).at_most(100));
    v.field("mini_batches", mini_batches,
            "Optimizer steps per pass: the batch_size*group_size sequences are split into this many.",
            Spec().at_least(1));
  }
  bool operator==(const AlgoConfig&) const = default;
};

}  // namespace balcap::config
