// Chunked sampled-token logprobs as one custom autograd function; see
// src/models/token_logprobs.h for the formulas.
#include "models/token_logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <tuple>

#include "core/error.h"

namespace balcap::models {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One chunk's logits in float32: [c, E] x [V, E]^T -> [c, V], divided by the temperature.
at::Tensor chunk_logits(const at::Tensor& hidden, const at::Tensor& weight, double temperature) {
  at::Tensor z = at::matmul(hidden, weight.t()).to(at::kFloat);
  if (temperature != 1.0) z.div_(temperature);
  return z;
}

// Per-row statistics of one chunk: logprob of the target, entropy and top-k (when asked).
struct ChunkStats {
  at::Tensor logprob;  // [c]
  at::Tensor entropy;  // [c] or undefined
  at::Tensor top_values, top_ids;  // [c, k] or undefined
};

// `z` is the chunk's logits and is overwritten (log-probabilities when the entropy is asked): at
// most one more [c, V] buffer is alive, so a chunk costs two, not five.
ChunkStats chunk_stats(at::Tensor& z, const at::Tensor& targets, bool with_entropy, std::int64_t top_k) {
  at::Tensor lse = z.logsumexp(-1, /*keepdim=*/true);  // [c, 1]
  ChunkStats s;
  s.logprob = z.gather(1, targets.unsqueeze(1)).squeeze(1) - lse.squeeze(1);
  if (top_k > 0) {
    std::tie(s.top_values, s.top_ids) = z.topk(top_k, -1);
    s.top_values.sub_(lse);
  }
  if (with_entropy) {
    // H = -E_p[log p] with log p = z - lse: no cancellation between two large terms (lse and E_p[z]
    // are each as large as the logits; their difference is the entropy, a few nats).
    at::Tensor& logp = z.sub_(lse);
    s.entropy = logp.exp().mul_(logp).sum(-1).neg_();
  }
  return s;
}

// d(loss)/d(logits) of one chunk, [c, V] float32, from the gradients of its logprobs/entropies.
// `z` (the chunk's logits) is overwritten; without an entropy gradient the result is built in its
// buffer, with one it takes a second [c, V] buffer (the softmax).
//   d logprob / d z = onehot(target) - p
//   d H / d z = -p (z - E_p[z]) = -p (log p - E_p[log p])
//   so g = onehot * g_logprob - p * (g_logprob + g_entropy * (log p - E_p[log p]))
at::Tensor chunk_logits_grad(at::Tensor& z, const at::Tensor& targets, const at::Tensor& g_logprob,
                             const at::Tensor& g_entropy, double temperature) {
  at::Tensor& logp = z.sub_(z.logsumexp(-1, /*keepdim=*/true));
  at::Tensor g;
  if (!g_entropy.defined()) {
    g = logp.exp_().mul_(g_logprob.unsqueeze(1)).neg_();  // -p * g_logprob, in z's buffer
  } else {
    at::Tensor p = logp.exp();
    at::Tensor mean_logp = at::bmm(p.unsqueeze(1), logp.unsqueeze(2)).view({-1, 1});  // E_p[log p], [c, 1]
    at::Tensor& coef = logp.sub_(mean_logp).mul_(g_entropy.unsqueeze(1));
    if (g_logprob.defined()) coef.add_(g_logprob.unsqueeze(1));
    g = p.mul_(coef).neg_();
  }
  if (g_logprob.defined()) g.scatter_add_(1, targets.unsqueeze(1), g_logprob.unsqueeze(1));
  if (temperature != 1.0) g.div_(temperature);  // z = raw / T
  return g;
}

struct ChunkedTokenLogprobs : public torch::autograd::Function<ChunkedTokenLogprobs> {
  // Returns {logprobs [N], entropy [N] (empty [0] when not computed), top values and ids [N, top_k]}.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, std::int64_t chunk_rows, double temperature,
                               bool with_entropy, bool entropy_grad, std::int64_t top_k) {
    const std::int64_t n = hidden.size(0);
    const auto f32 = hidden.options().dtype(at::kFloat);
    at::Tensor logprobs = at::empty({n}, f32);
    at::Tensor entropy = at::empty({with_entropy ? n : 0}, f32);
    at::Tensor top_values = at::empty({n, top_k}, f32), top_ids = at::empty({n, top_k}, f32.dtype(at::kLong));
    for (std::int64_t start = 0; start < n; start += chunk_rows) {
      const std::int64_t len = std::min(chunk_rows, n - start);
      at::Tensor z = chunk_logits(hidden.narrow(0, start, len), weight, temperature);
      ChunkStats s = chunk_stats(z, targets.narrow(0, start, len), with_entropy, top_k);
      logprobs.narrow(0, start, len).copy_(s.logprob);
      if (with_entropy) entropy.narrow(0, start, len).copy_(s.entropy);
      if (top_k > 0) {
        top_values.narrow(0, start, len).copy_(s.top_values);
        top_ids.narrow(0, start, len).copy_(s.top_ids);
      }
    }
    ctx->save_for_backward({hidden, weight, targets});
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->saved_data["temperature"] = temperature;
    ctx->set_materialize_grads(false);
    ctx->mark_non_differentiable({top_values, top_ids});
    if (!(with_entropy && entropy_grad)) ctx->mark_non_differentiable({entropy});
    return {logprobs, entropy, top_values, top_ids};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor& hidden = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& targets = saved[2];
    const std::int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const at::Tensor& g_logprob = grads[0];
    const at::Tensor g_entropy = grads[1].defined() && grads[1].numel() > 0 ? grads[1] : at::Tensor();
    const bool want_hidden = ctx->needs_input_grad(0), want_weight = ctx->needs_input_grad(1);
    variable_list out(8);
    if ((!g_logprob.defined() && !g_entropy.defined()) || (!want_hidden && !want_weight)) return out;

    at::Tensor grad_hidden = want_hidden ? at::empty_like(hidden) : at::Tensor();
    // Accumulated over chunks in float32 even for bf16 weights (one rounding at the end).
    at::Tensor grad_weight = want_weight ? at::zeros(weight.sizes(), weight.options().dtype(at::kFloat)) : at::Tensor();
    const std::int64_t n = hidden.size(0);
    for (std::int64_t start = 0; start < n; start += chunk_rows) {
      const std::int64_t len = std::min(chunk_rows, n - start);
      at::Tensor h = hidden.narrow(0, start, len);
      at::Tensor z = chunk_logits(h, weight, temperature);
      at::Tensor g = chunk_logits_grad(z, targets.narrow(0, start, len),
                                       g_logprob.defined() ? g_logprob.narrow(0, start, len) : at::Tensor(),
                                       g_entropy.defined() ? g_entropy.narrow(0, start, len) : at::Tensor(),
                                       temperature)
                         .to(weight.scalar_type());  // [c, V]
      if (want_hidden) grad_hidden.narrow(0, start, len).copy_(at::matmul(g, weight));
      if (want_weight && weight.scalar_type() == at::kFloat) {
        grad_weight.addmm_(g.t(), h);  // accumulated by the GEMM itself: no [V, E] temporary per chunk
      } else if (want_weight) {
        grad_weight.add_(at::matmul(g.t(), h).to(at::kFloat));
      }
    }
    out[0] = grad_hidden;
    if (want_weight) out[1] = grad_weight.to(weight.scalar_type());
    return out;
  }
};

void check_inputs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets) {
  BALCAP_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
               "token_logprobs: hidden {} and output weight {} must be [N, E] and [V, E]. HINT: pass the "
               "flattened positions that predict the targets and the lm_head (or tied embedding) weight.",
               c10::str(hidden.sizes()), c10::str(weight.sizes()));
  BALCAP_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0) && targets.scalar_type() == at::kLong,
               "token_logprobs: targets {} ({}) must be int64 [N] with N = {}. HINT: one target id per hidden row.",
               c10::str(targets.sizes()), c10::toString(targets.scalar_type()), hidden.size(0));
  BALCAP_CHECK(hidden.scalar_type() == weight.scalar_type() && hidden.device() == weight.device(),
               "token_logprobs: hidden ({}, {}) and weight ({}, {}) differ in dtype or device. HINT: run the "
               "policy in one dtype on one device.",
               c10::toString(hidden.scalar_type()), hidden.device().str(), c10::toString(weight.scalar_type()),
               weight.device().str());
  if (targets.numel() > 0) {
    const std::int64_t lo = targets.min().item<std::int64_t>(), hi = targets.max().item<std::int64_t>();
    BALCAP_CHECK(lo >= 0 && hi < weight.size(0),
                 "token_logprobs: target id {} outside the vocabulary [0, {}). HINT: the sampled ids do not "
                 "belong to this model's vocabulary.",
                 lo < 0 ? lo : hi, weight.size(0));
  }
}

}  // namespace

std::int64_t token_logprobs_chunk_rows(std::int64_t vocab, const TokenLogprobsOptions& options) {
  if (options.chunk_rows > 0) return options.chunk_rows;
  const std::int64_t row_bytes = std::max<std::int64_t>(1, vocab) * 4;
  return std::max<std::int64_t>(1, options.chunk_bytes / row_bytes);
}

TokenLogprobs token_logprobs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                             const TokenLogprobsOptions& options) {
  check_inputs(hidden, weight, targets);
  BALCAP_CHECK(options.temperature > 0, "token_logprobs: temperature {} must be > 0. HINT: use sampling.temperature.",
               options.temperature);
  const std::int64_t rows = token_logprobs_chunk_rows(weight.size(0), options);
  BALCAP_CHECK(options.top_k >= 0 && options.top_k <= weight.size(0),
               "token_logprobs: top_k {} must be in [0, {}] (the vocabulary). HINT: ask for at most 20 as OpenAI "
               "servers do.",
               options.top_k, weight.size(0));
  variable_list out =
      ChunkedTokenLogprobs::apply(hidden, weight, targets.to(hidden.device()), rows, options.temperature,
                                  options.entropy, options.entropy_grad, options.top_k);
  TokenLogprobs result;
  result.logprobs = out[0];
  if (options.entropy) result.entropy = options.entropy_grad ? out[1] : out[1].detach();
  if (options.top_k > 0) {
    result.top_logprobs = out[2].detach();
    result.top_ids = out[3].detach();
  }
  return result;
}

}  // namespace balcap::models
