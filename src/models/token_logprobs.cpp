// Chunked sampled-token logprobs as one custom autograd function; see
// src/models/token_logprobs.h for the formulas.
#include "models/token_logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <mutex>
#include <tuple>

#include "core/error.h"
#include "core/log.h"
#include "models/softmax_rows.h"

namespace balcap::models {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One chunk's raw logits in float32: [c, E] x [V, E]^T -> [c, V] (not divided by the temperature).
at::Tensor raw_logits(const at::Tensor& hidden, const at::Tensor& weight) {
  return at::matmul(hidden, weight.t()).to(at::kFloat);
}

// Whether a chunk's raw logits `z` take the fused CPU rows (softmax_rows.h): float32 on the CPU,
// and no top-k asked (an OpenAI logprobs answer, never on the training path).
bool fused_rows(const at::Tensor& z, std::int64_t top_k) { return top_k == 0 && softmax_rows_apply(z); }

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

// E_p[log p] per row, [c, 1], summed as chunk_stats sums the entropy (a [c, V] temporary for a
// moment): a BLAS dot product (bmm) over 151,936 terms is off by ~2e-4 relative, which the entropy
// gradient turns into a spurious component along p; the reduction's error is ~1e-7.
at::Tensor expected_logp(const at::Tensor& p, const at::Tensor& logp) {
  return at::mul(p, logp).sum(-1, /*keepdim=*/true);
}

// d(loss)/d(logits) of one chunk, [c, V] float32, from the gradients of its logprobs/entropies,
// given log p (`logp` = log_softmax of the logits, overwritten), and optionally p = softmax (`p`,
// overwritten when given) and E_p[log p] (`mean_logp` [c, 1]). Without an entropy gradient the
// result is built in one of those buffers; with one it takes p's (made here when not given).
//   d logprob / d z = onehot(target) - p
//   d H / d z = -p (z - E_p[z]) = -p (log p - E_p[log p])
//   so g = onehot * g_logprob - p * (g_logprob + g_entropy * (log p - E_p[log p]))
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

// The same from the chunk's logits `z` (overwritten): the backward pass's recomputation.
at::Tensor chunk_logits_grad(at::Tensor& z, const at::Tensor& targets, const at::Tensor& g_logprob,
                             const at::Tensor& g_entropy, double temperature) {
  at::Tensor& logp = z.sub_(z.logsumexp(-1, /*keepdim=*/true));
  return logits_grad(logp, {}, {}, targets, g_logprob, g_entropy, temperature);
}

// The head's gradients of one chunk (rows [start, start + c), hidden rows `h`) from its logits'
// gradient `g` [c, V]: grad_hidden rows = g W, grad_weight += g^T h (float32 accumulation).
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

// Gradient buffers for the inputs that want one (undefined for the others): the hidden states'
// uninitialised (every chunk writes its rows), the weight's zero-filled and float32 even for bf16
// weights (accumulated over chunks, one rounding at the end).
std::pair<at::Tensor, at::Tensor> head_grad_buffers(const at::Tensor& hidden, const at::Tensor& weight,
                                                    bool want_hidden, bool want_weight) {
  return {want_hidden ? at::empty_like(hidden) : at::Tensor(),
          want_weight ? at::zeros(weight.sizes(), weight.options().dtype(at::kFloat)) : at::Tensor()};
}

// Whether the gradient backward received is the one the forward predicted: both absent, or equal
// within fp32 rounding (the prediction ran on chunk slices, whose vectorised tails may round
// differently by an ulp).
bool same_gradient(const at::Tensor& received, const at::Tensor& predicted) {
  if (!received.defined() || !predicted.defined()) return received.defined() == predicted.defined();
  if (received.sizes() != predicted.sizes()) return false;
  const double scale = predicted.numel() > 0 ? predicted.abs().max().item<double>() : 0.0;
  const double diff = predicted.numel() > 0 ? (received - predicted).abs().max().item<double>() : 0.0;
  return diff <= 1e-5 * scale;
}

// A prediction that misses costs a recomputation, not a wrong gradient; said once per process so
// that a run that always misses (a loss that is not a sum of per-token terms) does not go unseen.
void warn_mispredicted_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    spdlog::warn("token_logprobs: the gradient backward received is not the one predicted in the forward pass "
                 "(gradient_in_forward); the head's gradients were recomputed. HINT: the loss must be the sum of "
                 "per-token terms the prediction differentiates; train.head_grad_in_forward=false skips the "
                 "prediction");
  });
}

// The forward's outputs, filled chunk by chunk.
struct ForwardOutputs {
  at::Tensor logprobs, entropy, top_values, top_ids;
  ForwardOutputs(std::int64_t n, bool with_entropy, std::int64_t top_k, const at::TensorOptions& f32)
      : logprobs(at::empty({n}, f32)),
        entropy(at::empty({with_entropy ? n : 0}, f32)),
        top_values(at::empty({n, top_k}, f32)),
        top_ids(at::empty({n, top_k}, f32.dtype(at::kLong))) {}
  void put(std::int64_t start, const ChunkStats& s) {
    const std::int64_t len = s.logprob.size(0);
    logprobs.narrow(0, start, len).copy_(s.logprob);
    if (s.entropy.defined()) entropy.narrow(0, start, len).copy_(s.entropy);
    if (s.top_values.defined()) {
      top_values.narrow(0, start, len).copy_(s.top_values);
      top_ids.narrow(0, start, len).copy_(s.top_ids);
    }
  }
};

// Gradients computed in the forward pass (TokenLogprobsOptions::gradient_in_forward).
struct ForwardGradients {
  at::Tensor grad_hidden, grad_weight;  // undefined for an input without grad
  at::Tensor g_logprob, g_entropy;      // [N] the predicted gradients of the outputs
};

// The head's gradients of one chunk when only the logprobs carry gradient, from e = exp(z / T - m)
// (softmax_row_stats with to_exp) [c, V]: d/dz = (onehot(t) - e / s) a / T, so the [c, V] gradient
// is never formed; its two GEMMs take e, and the row scales go to the [c, E] side:
//   grad_hidden = -(a / (s T)) (e W) + (a / T) W[t]
//   grad_weight += e^T (-(a / (s T)) h) + onehot(t)^T ((a / T) h)
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

// The head's gradients of one chunk from its raw logits `z` (overwritten) on the fused CPU rows:
// from e when only the logprobs carry gradient, else from the full gradient formed in place.
void fused_head_grads(at::Tensor& z, const at::Tensor& targets, const at::Tensor& h, const at::Tensor& weight,
                      double temperature, const at::Tensor& g_logprob, const at::Tensor& g_entropy, std::int64_t start,
                      at::Tensor& grad_hidden, at::Tensor& grad_weight) {
  if (!g_entropy.defined()) {
    const SoftmaxRowStats st = softmax_row_stats(z, targets, temperature, false, /*to_exp=*/true);
    add_head_grads_from_exp(z, st, g_logprob, targets, h, weight, temperature, start, grad_hidden, grad_weight);
    return;
  }
  const SoftmaxRowStats st = softmax_row_stats(z, targets, temperature, true, /*to_exp=*/false);
  softmax_logits_grad_(z, targets, temperature, st, g_logprob, g_entropy);
  add_head_grads(z, h, weight, start, grad_hidden, grad_weight);
}

// Records the gradient predicted for rows [start, start + len) (backward compares it with what it
// receives); false when none flows through them (their hidden rows' gradient is then zeroed).
bool record_prediction(const at::Tensor& g_logprob, const at::Tensor& g_entropy, std::int64_t start, std::int64_t len,
                       ForwardGradients& fg) {
  if (g_logprob.defined()) fg.g_logprob.narrow(0, start, len).copy_(g_logprob);
  if (g_entropy.defined()) {
    if (!fg.g_entropy.defined()) fg.g_entropy = at::zeros_like(fg.g_logprob);
    fg.g_entropy.narrow(0, start, len).copy_(g_entropy);
  }
  if (g_logprob.defined() || g_entropy.defined()) return true;
  if (fg.grad_hidden.defined()) fg.grad_hidden.narrow(0, start, len).zero_();
  return false;
}

// One chunk with its gradient on ATen's ops (`z`: the chunk's logits divided by T): log p and p
// from them, the stats, the predicted output gradient and the head's gradients (3 GEMMs and two
// passes of exp over [c, V]; with the entropy, three [c, V] buffers at the peak).
void aten_chunk_with_gradient(at::Tensor& z, const at::Tensor& h, const at::Tensor& weight, const at::Tensor& targets,
                              std::int64_t start, double temperature, bool with_entropy, std::int64_t top_k,
                              const HeadGradient& predict, ChunkStats& s, ForwardGradients& fg) {
  const at::Tensor lse = z.logsumexp(-1, /*keepdim=*/true);
  s.logprob = z.gather(1, targets.unsqueeze(1)).squeeze(1) - lse.squeeze(1);
  if (top_k > 0) {
    std::tie(s.top_values, s.top_ids) = z.topk(top_k, -1);
    s.top_values.sub_(lse);
  }
  at::Tensor& logp = z.sub_(lse);
  at::Tensor p, mean_logp;
  if (with_entropy) {
    p = logp.exp();
    mean_logp = expected_logp(p, logp);
    s.entropy = mean_logp.view({-1}).neg();
  }
  auto [g_logprob, g_entropy] = predict(start, s.logprob, s.entropy);
  if (!record_prediction(g_logprob, g_entropy, start, h.size(0), fg)) return;
  const at::Tensor g = logits_grad(logp, p, mean_logp, targets, g_logprob, g_entropy, temperature);
  add_head_grads(g, h, weight, start, fg.grad_hidden, fg.grad_weight);
}

// One chunk with its gradient: the logits once, the stats, the predicted output gradient and the
// head's gradients: 3 GEMMs. On the fused CPU rows, when the entropy carries no gradient, one
// [c, V] buffer (the logits, then e) and no pass over it after the statistics.
void chunk_with_gradient(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& targets, std::int64_t start,
                         double temperature, bool with_entropy, bool entropy_grad, std::int64_t top_k,
                         const HeadGradient& predict, ChunkStats& s, ForwardGradients& fg) {
  at::Tensor z = raw_logits(h, weight);
  if (!fused_rows(z, top_k)) {
    if (temperature != 1.0) z.div_(temperature);
    aten_chunk_with_gradient(z, h, weight, targets, start, temperature, with_entropy, top_k, predict, s, fg);
    return;
  }
  const bool to_exp = !entropy_grad;  // the entropy is a metric: d/dz needs only e
  const SoftmaxRowStats st = softmax_row_stats(z, targets, temperature, with_entropy || entropy_grad, to_exp);
  s.logprob = st.logprob;
  if (with_entropy) s.entropy = st.entropy;
  auto [g_logprob, g_entropy] = predict(start, s.logprob, s.entropy);
  if (!record_prediction(g_logprob, g_entropy, start, h.size(0), fg)) return;
  if (to_exp) {
    // A predicted entropy gradient here has nowhere to go (the entropy is not differentiable):
    // backward receives none, sees the mismatch and recomputes.
    add_head_grads_from_exp(z, st, g_logprob, targets, h, weight, temperature, start, fg.grad_hidden,
                            fg.grad_weight);
    return;
  }
  softmax_logits_grad_(z, targets, temperature, st, g_logprob, g_entropy);
  add_head_grads(z, h, weight, start, fg.grad_hidden, fg.grad_weight);
}

// One chunk's statistics without gradient.
ChunkStats chunk_without_gradient(const at::Tensor& h, const at::Tensor& weight, const at::Tensor& targets,
                                  double temperature, bool with_entropy, std::int64_t top_k) {
  at::Tensor z = raw_logits(h, weight);
  if (fused_rows(z, top_k)) {
    const SoftmaxRowStats st = softmax_row_stats(z, targets, temperature, with_entropy, /*to_exp=*/false);
    return {st.logprob, st.entropy, {}, {}};
  }
  if (temperature != 1.0) z.div_(temperature);
  return chunk_stats(z, targets, with_entropy, top_k);
}

struct ChunkedTokenLogprobs : public torch::autograd::Function<ChunkedTokenLogprobs> {
  // Returns {logprobs [N], entropy [N] (empty [0] when not computed), top values and ids [N, top_k]}.
  // With `predict` and an input that wants a gradient, the head's gradients are computed here.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, std::int64_t chunk_rows, double temperature,
                               bool with_entropy, bool entropy_grad, std::int64_t top_k, const HeadGradient* predict,
                               bool want_hidden, bool want_weight) {
    const std::int64_t n = hidden.size(0);
    ForwardOutputs o(n, with_entropy, top_k, hidden.options().dtype(at::kFloat));
    const bool fused = predict != nullptr && *predict && (want_hidden || want_weight);
    ForwardGradients fg;
    if (fused) {
      std::tie(fg.grad_hidden, fg.grad_weight) = head_grad_buffers(hidden, weight, want_hidden, want_weight);
      fg.g_logprob = at::zeros({n}, o.logprobs.options());
    }
    for (std::int64_t start = 0; start < n; start += chunk_rows) {
      const std::int64_t len = std::min(chunk_rows, n - start);
      const at::Tensor h = hidden.narrow(0, start, len), t = targets.narrow(0, start, len);
      ChunkStats s;
      if (fused) {
        chunk_with_gradient(h, weight, t, start, temperature, with_entropy, entropy_grad, top_k, *predict, s, fg);
      } else {
        s = chunk_without_gradient(h, weight, t, temperature, with_entropy, top_k);
      }
      o.put(start, s);
    }
    ctx->save_for_backward({hidden, weight, targets});
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->saved_data["temperature"] = temperature;
    if (fused) {
      ctx->saved_data["grad_hidden"] = fg.grad_hidden;
      ctx->saved_data["grad_weight"] = fg.grad_weight;
      ctx->saved_data["g_logprob"] = fg.g_logprob;
      ctx->saved_data["g_entropy"] = fg.g_entropy;
    }
    ctx->set_materialize_grads(false);
    ctx->mark_non_differentiable({o.top_values, o.top_ids});
    if (!(with_entropy && entropy_grad)) ctx->mark_non_differentiable({o.entropy});
    return {o.logprobs, o.entropy, o.top_values, o.top_ids};
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
    variable_list out(11);
    if ((!g_logprob.defined() && !g_entropy.defined()) || (!want_hidden && !want_weight)) return out;
    if (ctx->saved_data.count("g_logprob") > 0 &&
        same_gradient(g_logprob, ctx->saved_data["g_logprob"].toTensor()) &&
        same_gradient(g_entropy, ctx->saved_data["g_entropy"].toTensor())) {
      // Taken out of the context, so that autograd can adopt them as .grad without a copy.
      if (want_hidden) out[0] = ctx->saved_data["grad_hidden"].toTensor();
      if (want_weight) out[1] = ctx->saved_data["grad_weight"].toTensor().to(weight.scalar_type());
      for (const char* key : {"grad_hidden", "grad_weight", "g_logprob", "g_entropy"}) ctx->saved_data.erase(key);
      return out;
    }
    if (ctx->saved_data.count("g_logprob") > 0) warn_mispredicted_once();
    auto [grad_hidden, grad_weight] = head_grad_buffers(hidden, weight, want_hidden, want_weight);
    const std::int64_t n = hidden.size(0);
    for (std::int64_t start = 0; start < n; start += chunk_rows) {
      const std::int64_t len = std::min(chunk_rows, n - start);
      const at::Tensor h = hidden.narrow(0, start, len), t = targets.narrow(0, start, len);
      const at::Tensor a = g_logprob.defined() ? g_logprob.narrow(0, start, len) : at::Tensor();
      const at::Tensor b = g_entropy.defined() ? g_entropy.narrow(0, start, len) : at::Tensor();
      at::Tensor z = raw_logits(h, weight);
      if (fused_rows(z, 0)) {
        fused_head_grads(z, t, h, weight, temperature, a, b, start, grad_hidden, grad_weight);
        continue;
      }
      if (temperature != 1.0) z.div_(temperature);
      const at::Tensor g = chunk_logits_grad(z, t, a, b, temperature);  // [c, V]
      add_head_grads(g, h, weight, start, grad_hidden, grad_weight);
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
  // The forward pass runs with grad mode off: whether a backward can follow is decided here.
  const bool grad = at::GradMode::is_enabled();
  variable_list out = ChunkedTokenLogprobs::apply(
      hidden, weight, targets.to(hidden.device()), rows, options.temperature, options.entropy, options.entropy_grad,
      options.top_k, options.gradient_in_forward ? &options.gradient_in_forward : nullptr,
      grad && hidden.requires_grad(), grad && weight.requires_grad());
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
