// Chunked sampled-token logprobs as one custom autograd function; see
// src/models/token_logprobs.h for the formulas.
#include "models/token_logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <mutex>
#include <tuple>

#include "core/error.h"
#include "core/log.h"
#include "models/head_projection.h"
#include "models/head_gradients.h"
#include "models/softmax_rows.h"

namespace balcap::models {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One chunk's raw logits in float32: [c, E] x [V, E]^T -> [c, V] (not divided by the temperature),
// on the rollout's packed head when it made one for these weights (head_projection.h).
at::Tensor raw_logits(const at::Tensor& hidden, const at::Tensor& weight) {
  return head_logits(hidden, weight, HeadPacking::reuse).to(at::kFloat);
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
  // With to_exp a predicted entropy gradient has nowhere to go (the entropy is not differentiable):
  // backward receives none, sees the mismatch and recomputes.
  fused_head_grads(z, to_exp, st, targets, h, weight, temperature, g_logprob, g_entropy, start, fg.grad_hidden,
                   fg.grad_weight);
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
        // Only the logprobs carry gradient: the row becomes e and no [c, V] gradient is formed.
        const bool to_exp = !b.defined();
        const SoftmaxRowStats st = softmax_row_stats(z, t, temperature, !to_exp, to_exp);
        fused_head_grads(z, to_exp, st, t, h, weight, temperature, a, b, start, grad_hidden, grad_weight);
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
