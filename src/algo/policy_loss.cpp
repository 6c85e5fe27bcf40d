// PPO clipped surrogate + KL + entropy; see src/algo/policy_loss.h.
#include "algo/policy_loss.h"

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include "core/error.h"

namespace balcap::algo {

PolicyLossOptions policy_loss_options_from(const config::AlgoConfig& algo) {
  PolicyLossOptions o;
  o.clip_low = algo.clip_low;
  o.clip_high = algo.clip_high;
  o.kl_coef = algo.kl_coef;
  o.kl_estimator = algo.kl_estimator;
  o.entropy_coef = algo.entropy_coef;
  return o;
}

at::Tensor aggregation_weights(const std::vector<std::int64_t>& lengths, const std::string& mode,
                               std::int64_t total_tokens, std::int64_t total_sequences) {
  BALCAP_CHECK(mode == "token_mean" || mode == "seq_mean",
               "algo.loss_aggregation: '{}' is not known. HINT: use token_mean or seq_mean.", mode);
  BALCAP_CHECK(total_tokens > 0 && total_sequences > 0,
               "aggregation_weights: the mini-batch has {} tokens in {} captions. HINT: nothing to train on.",
               total_tokens, total_sequences);
  std::vector<float> w;
  for (std::int64_t len : lengths) {
    const double v = mode == "token_mean" ? 1.0 / static_cast<double>(total_tokens)
                                          : 1.0 / (static_cast<double>(len) * static_cast<double>(total_sequences));
    w.insert(w.end(), static_cast<std::size_t>(len), static_cast<float>(v));
  }
  return at::tensor(w, at::kFloat);
}

at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, const std::string& estimator) {
  at::Tensor log_ratio = ref_logprobs - logprobs;  // log(p_ref / p)
  if (estimator == "k1") return -log_ratio;
  if (estimator == "k2") return 0.5 * log_ratio.square();
  BALCAP_CHECK(estimator == "k3", "algo.kl_estimator: '{}' is not known. HINT: use k1, k2 or k3.", estimator);
  return log_ratio.exp() - log_ratio - 1.0;
}

namespace {

void check_same_shape(const at::Tensor& t, const at::Tensor& like, const char* name) {
  BALCAP_CHECK(t.defined() && t.sizes() == like.sizes(),
               "policy_loss: {} has shape {}, logprobs {}. HINT: one value per trained token.", name,
               t.defined() ? c10::str(t.sizes()) : std::string("(missing)"), c10::str(like.sizes()));
}

void check_inputs(const PolicyLossInputs& in, const PolicyLossOptions& options) {
  BALCAP_CHECK(in.logprobs.defined() && in.logprobs.dim() == 1, "policy_loss: logprobs must be a [N] tensor. HINT: "
               "flatten the trained tokens of the micro-batch.");
  check_same_shape(in.old_logprobs, in.logprobs, "old_logprobs");
  check_same_shape(in.advantages, in.logprobs, "advantages");
  check_same_shape(in.weights, in.logprobs, "weights");
  if (options.kl_coef > 0) check_same_shape(in.ref_logprobs, in.logprobs, "ref_logprobs (kl_coef > 0)");
  if (in.entropy.defined()) check_same_shape(in.entropy, in.logprobs, "entropy");
}

}  // namespace

PolicyLossOutput policy_loss(const PolicyLossInputs& in, const PolicyLossOptions& options) {
  check_inputs(in, options);
  const at::Tensor& lp = in.logprobs;
  at::Tensor old = in.old_logprobs.to(lp.options()).detach();
  at::Tensor adv = in.advantages.to(lp.options()).detach();
  at::Tensor w = in.weights.to(lp.options()).detach();

  at::Tensor log_ratio = lp - old;
  at::Tensor ratio = log_ratio.exp();
  at::Tensor pg_unclipped = -adv * ratio;
  at::Tensor pg_clipped = -adv * ratio.clamp(1.0 - options.clip_low, 1.0 + options.clip_high);
  at::Tensor pg = at::maximum(pg_unclipped, pg_clipped);  // [N]
  at::Tensor per_token = pg;

  PolicyLossOutput out;
  at::Tensor zero = at::zeros({}, lp.options());
  out.kl = zero;
  if (options.kl_coef > 0) {
    at::Tensor kl = kl_estimate(lp, in.ref_logprobs.to(lp.options()).detach(), options.kl_estimator);
    per_token = per_token + options.kl_coef * kl;
    out.kl = (w * kl).sum().detach();
  }
  out.entropy = zero;
  if (in.entropy.defined()) {
    at::Tensor ent = in.entropy.to(lp.options());
    if (options.entropy_coef > 0) per_token = per_token - options.entropy_coef * ent;
    out.entropy = (w * ent).sum().detach();
  }
  out.loss = (w * per_token).sum();
  out.pg_loss = (w * pg).sum().detach();
  out.clip_frac = (w * pg_clipped.gt(pg_unclipped).to(lp.scalar_type())).sum().detach();
  at::Tensor back = -log_ratio.detach();  // log(old / new)
  out.approx_kl = (w * (back.exp() - back - 1.0)).sum();
  return out;
}

std::pair<at::Tensor, at::Tensor> policy_loss_token_gradient(const PolicyLossInputs& in, std::int64_t start,
                                                             const at::Tensor& logprobs, const at::Tensor& entropy,
                                                             const PolicyLossOptions& options) {
  at::AutoGradMode grad(true);  // called from inside a forward pass, where grad mode is off
  const std::int64_t c = logprobs.size(0);
  auto slice = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, start, c) : t; };
  PolicyLossInputs x;
  x.logprobs = logprobs.detach().requires_grad_(true);
  x.old_logprobs = slice(in.old_logprobs);
  x.advantages = slice(in.advantages);
  x.weights = slice(in.weights);
  x.ref_logprobs = slice(in.ref_logprobs);
  const bool entropy_grad = entropy.defined() && options.entropy_coef > 0;
  if (entropy.defined()) x.entropy = entropy_grad ? entropy.detach().requires_grad_(true) : entropy.detach();
  std::vector<at::Tensor> wrt{x.logprobs};
  if (entropy_grad) wrt.push_back(x.entropy);
  const std::vector<at::Tensor> g = torch::autograd::grad({policy_loss(x, options).loss}, wrt);
  return {g[0], entropy_grad ? g[1] : at::Tensor()};
}

}  // namespace balcap::algo
