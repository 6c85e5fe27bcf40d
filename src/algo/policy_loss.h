#pragma once
// The policy loss (docs/architecture.md §7): token-level PPO clipped surrogate with separate low/high clip
// (DAPO's clip-higher), optional KL to a frozen reference policy, optional entropy bonus.
//
// Per token t of a sampled caption, with ratio r = exp(logprob - old_logprob) and A the
// caption's advantage:
//   pg(t)  = max(-A r, -A clip(r, 1 - clip_low, 1 + clip_high))
//   kl(t)  = k1: logprob - ref;  k2: (logprob - ref)^2 / 2;  k3: exp(ref - logprob) - (ref - logprob) - 1
//   loss(t) = pg(t) + kl_coef kl(t) - entropy_coef entropy(t)
//   loss    = sum_t w(t) loss(t)
// The weights w make one mini-batch's loss the configured aggregate even when it is cut into
// micro-batches whose backward passes accumulate: token_mean w = 1 / (tokens in the mini-batch);
// seq_mean w = 1 / (length of t's caption * captions in the mini-batch).
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/algo.h"

namespace balcap::algo {

struct PolicyLossOptions {
  double clip_low = 0.2;
  double clip_high = 0.28;
  double kl_coef = 0.0;            // 0: no KL term (no reference logprobs needed)
  std::string kl_estimator = "k3";  // k1 | k2 | k3
  double entropy_coef = 0.0;        // 0: entropy is only a metric
};
PolicyLossOptions policy_loss_options_from(const config::AlgoConfig& algo);

// Per-token aggregation weights [N] (float32) for captions of `lengths` tokens laid out one after
// another. `mode` token_mean | seq_mean; `total_tokens` / `total_sequences`: the counts of the
// whole mini-batch the micro-batch belongs to (use the micro-batch's own for a stand-alone loss).
at::Tensor aggregation_weights(const std::vector<std::int64_t>& lengths, const std::string& mode,
                               std::int64_t total_tokens, std::int64_t total_sequences);

struct PolicyLossInputs {
  at::Tensor logprobs;      // [N] current policy, with grad
  at::Tensor old_logprobs;  // [N] the sampler's (the behaviour policy)
  at::Tensor advantages;    // [N] the caption's advantage on each of its tokens
  at::Tensor weights;       // [N] aggregation weights (aggregation_weights)
  at::Tensor ref_logprobs;  // [N] frozen reference policy; needed only when kl_coef > 0
  at::Tensor entropy;       // [N] optional: with grad for the bonus, or detached as a metric
};

// The differentiable loss and its parts, each aggregated with the same weights (so summing a
// mini-batch's micro-batches gives the mini-batch value). Metrics are detached scalars.
struct PolicyLossOutput {
  at::Tensor loss;       // scalar, with grad
  at::Tensor pg_loss;    // sum w pg
  at::Tensor kl;         // sum w kl (0 when kl_coef == 0)
  at::Tensor entropy;    // sum w entropy (0 when no entropy given)
  at::Tensor clip_frac;  // sum w [clipped objective was the one taken]
  at::Tensor approx_kl;  // sum w k3(old -> new): how far the update moved from the sampler
};

// Throws balcap::Error on mismatched shapes or a missing reference with kl_coef > 0.
PolicyLossOutput policy_loss(const PolicyLossInputs& in, const PolicyLossOptions& options);

// The loss's gradient with respect to tokens [start, start + c)'s log-probabilities `logprobs` [c]
// and entropies `entropy` [c] (undefined when not computed): {d loss / d logprobs [c], d loss /
// d entropy [c], undefined unless entropy_coef > 0}. `in` gives the other inputs of all N tokens
// (its logprobs and entropy are not read). Exact because the loss is a sum of per-token terms: a
// slice's gradient is the slice of the whole loss's gradient. What the head's fused forward pass
// needs (models::TokenLogprobsOptions::gradient_in_forward).
std::pair<at::Tensor, at::Tensor> policy_loss_token_gradient(const PolicyLossInputs& in, std::int64_t start,
                                                             const at::Tensor& logprobs, const at::Tensor& entropy,
                                                             const PolicyLossOptions& options);

// Schulman's KL estimators of KL(current || reference) per token from log-probabilities.
at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, const std::string& estimator);

}  // namespace balcap::algo
