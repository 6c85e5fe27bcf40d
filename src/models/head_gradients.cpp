// The output head's gradients of one chunk of token_logprobs (see head_gradients.h).
#include "models/head_gradients.h"

#include "models/softmax_rows.h"

namespace balcap::models {

at::Tensor expected_logp(const at::Tensor& p, const at::Tensor& logp) {
  return at::mul(p, logp).sum(-1, /*keepdim=*/true);
}

at::Tensor logits_grad(at::Tensor& logp, at::Tensor p, at::Tensor mean_logp, const at::Tensor& targets,
                       const at::Tensor& g_logprob, const at::Tensor& g_entropy, double temperature) {
  at::Tensor g;
  if (!g_entropy.defined()) {
    at::Tensor& probs = p.defined() ? p : logp.exp_();
    g = probs.mul_(g_logprob.unsqueeze(1)).neg_();  // -p * g_logprob
  } else {
    if (!p.defined()) p = logp.exp();
    if (!mean_logp.defined()) mean_logp = expected_logp(p, logp);
    at::Tensor& coef = logp.sub_(mean_logp).mul_(g_entropy.unsqueeze(1));
    if (g_logprob.defined()) coef.add_(g_logprob.unsqueeze(1));
    g = p.mul_(coef).neg_();
  }
  if (g_logprob.defined()) g.scatter_add_(1, targets.unsqueeze(1), g_logprob.unsqueeze(1));
  if (temperature != 1.0) g.div_(temperature);  // z = raw / T
  return g;
}

at::Tensor chunk_logits_grad(at::Tensor& z, const at::Tensor& targets, const at::Tensor& g_logprob,
                             const at::Tensor& g_entropy, double temperature) {
  at::Tensor& logp = z.sub_(z.logsumexp(-1, /*keepdim=*/true));
  return logits_grad(logp, {}, {}, targets, g_logprob, g_entropy, temperature);
}

void add_head_grads(const at::Tensor& logits_g, const at::Tensor& h, const at::Tensor& weight, std::int64_t start,
                    at::Tensor& grad_hidden, at::Tensor& grad_weight) {
  const at::Tensor g = logits_g.to(weight.scalar_type());
  if (grad_hidden.defined()) grad_hidden.narrow(0, start, h.size(0)).copy_(at::matmul(g, weight));
  if (grad_weight.defined() && weight.scalar_type() == at::kFloat) {
    grad_weight.addmm_(g.t(), h);  // accumulated by the GEMM itself: no [V, E] temporary per chunk
  } else if (grad_weight.defined()) {
    grad_weight.add_(at::matmul(g.t(), h).to(at::kFloat));
  }
}

std::pair<at::Tensor, at::Tensor> head_grad_buffers(const at::Tensor& hidden, const at::Tensor& weight,
                                                    bool want_hidden, bool want_weight) {
  return {want_hidden ? at::empty_like(hidden) : at::Tensor(),
          want_weight ? at::zeros(weight.sizes(), weight.options().dtype(at::kFloat)) : at::Tensor()};
}

void add_head_grads_from_exp(const at::Tensor& e, const SoftmaxRowStats& st, const at::Tensor& g_logprob,
                             const at::Tensor& targets, const at::Tensor& h, const at::Tensor& weight,
                             double temperature, std::int64_t start, at::Tensor& grad_hidden, at::Tensor& grad_weight) {
  const std::int64_t len = h.size(0);
  if (!g_logprob.defined()) {  // no gradient through this chunk's logprobs
    if (grad_hidden.defined()) grad_hidden.narrow(0, start, len).zero_();
    return;
  }
  const at::Tensor spread = g_logprob.div(st.log_mass.exp()).div_(-temperature).unsqueeze(1);  // [c, 1]
  const at::Tensor own = g_logprob.div(temperature).unsqueeze(1);                              // [c, 1]
  const at::Tensor ew = e.to(weight.scalar_type());
  if (grad_hidden.defined()) {
    grad_hidden.narrow(0, start, len)
        .copy_(at::matmul(ew, weight).mul_(spread).add_(weight.index_select(0, targets).mul(own)));
  }
  if (grad_weight.defined()) {
    const at::Tensor hs = h.mul(spread).to(h.scalar_type());
    if (weight.scalar_type() == at::kFloat) {
      grad_weight.addmm_(ew.t(), hs);
    } else {
      grad_weight.add_(at::matmul(ew.t(), hs).to(at::kFloat));
    }
    grad_weight.index_add_(0, targets, h.to(at::kFloat).mul(own));
  }
}

void fused_head_grads(at::Tensor& z, bool z_is_exp, const SoftmaxRowStats& st, const at::Tensor& targets,
                      const at::Tensor& h, const at::Tensor& weight, double temperature, const at::Tensor& g_logprob,
                      const at::Tensor& g_entropy, std::int64_t start, at::Tensor& grad_hidden,
                      at::Tensor& grad_weight) {
  if (z_is_exp) {
    add_head_grads_from_exp(z, st, g_logprob, targets, h, weight, temperature, start, grad_hidden, grad_weight);
    return;
  }
  softmax_logits_grad_(z, targets, temperature, st, g_logprob, g_entropy);
  add_head_grads(z, h, weight, start, grad_hidden, grad_weight);
}

}  // namespace balcap::models
