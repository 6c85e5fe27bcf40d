#pragma once
// Private to src/models: the output head's gradients of one chunk of token_logprobs (rows [start,
// start + c) of hidden [N, E], weight [V, E]): d loss / d logits from the gradients of the chunk's
// logprobs and entropies, and the GEMMs that carry it to the hidden states and the weight. ATen's
// path forms the [c, V] gradient; on the fused CPU rows (softmax_rows.h), when only the logprobs
// carry gradient, it is never formed.
#include <ATen/ATen.h>

#include <cstdint>
#include <utility>

#include "models/softmax_rows.h"

namespace balcap::models {

// E_p[log p] per row, [c, 1], summed as token_logprobs sums the entropy (a [c, V] temporary for a
// moment): a BLAS dot product (bmm) over 151,936 terms is off by ~2e-4 relative, which the entropy
// gradient turns into a spurious component along p; the reduction's error is ~1e-7.
at::Tensor expected_logp(const at::Tensor& p, const at::Tensor& logp);

// d(loss)/d(logits) of one chunk, [c, V] float32, from the gradients of its logprobs/entropies,
// given log p (`logp` = log_softmax of the logits, overwritten), and optionally p = softmax (`p`,
// overwritten when given) and E_p[log p] (`mean_logp` [c, 1]). Without an entropy gradient the
// result is built in one of those buffers; with one it takes p's (made here when not given).
//   d logprob / d z = onehot(target) - p
//   d H / d z = -p (z - E_p[z]) = -p (log p - E_p[log p])
//   so g = onehot * g_logprob - p * (g_logprob + g_entropy * (log p - E_p[log p]))
at::Tensor logits_grad(at::Tensor& logp, at::Tensor p, at::Tensor mean_logp, const at::Tensor& targets,
                       const at::Tensor& g_logprob, const at::Tensor& g_entropy, double temperature);

// The same from the chunk's logits `z` (overwritten): the backward pass's recomputation.
at::Tensor chunk_logits_grad(at::Tensor& z, const at::Tensor& targets, const at::Tensor& g_logprob,
                             const at::Tensor& g_entropy, double temperature);

// The head's gradients of one chunk (rows [start, start + c), hidden rows `h`) from its logits'
// gradient `g` [c, V]: grad_hidden rows = g W, grad_weight += g^T h (float32 accumulation).
void add_head_grads(const at::Tensor& logits_g, const at::Tensor& h, const at::Tensor& weight, std::int64_t start,
                    at::Tensor& grad_hidden, at::Tensor& grad_weight);

// Gradient buffers for the inputs that want one (undefined for the others): the hidden states'
// uninitialised (every chunk writes its rows), the weight's zero-filled and float32 even for bf16
// weights (accumulated over chunks, one rounding at the end).
std::pair<at::Tensor, at::Tensor> head_grad_buffers(const at::Tensor& hidden, const at::Tensor& weight,
                                                    bool want_hidden, bool want_weight);

// The head's gradients of one chunk when only the logprobs carry gradient, from e = exp(z / T - m)
// (softmax_row_stats with to_exp) [c, V]: d/dz = (onehot(t) - e / s) a / T, so the [c, V] gradient
// is never formed; its two GEMMs take e, and the row scales go to the [c, E] side:
//   grad_hidden = -(a / (s T)) (e W) + (a / T) W[t]
//   grad_weight += e^T (-(a / (s T)) h) + onehot(t)^T ((a / T) h)
void add_head_grads_from_exp(const at::Tensor& e, const SoftmaxRowStats& st, const at::Tensor& g_logprob,
                             const at::Tensor& targets, const at::Tensor& h, const at::Tensor& weight,
                             double temperature, std::int64_t start, at::Tensor& grad_hidden, at::Tensor& grad_weight);

// The head's gradients of one chunk on the fused CPU rows, given its statistics `st`: from e when
// `z` holds e (`z_is_exp`: softmax_row_stats with to_exp; a g_entropy then has nowhere to go and is
// ignored), else from the full gradient formed in place over the raw logits `z`.
void fused_head_grads(at::Tensor& z, bool z_is_exp, const SoftmaxRowStats& st, const at::Tensor& targets,
                      const at::Tensor& h, const at::Tensor& weight, double temperature, const at::Tensor& g_logprob,
                      const at::Tensor& g_entropy, std::int64_t start, at::Tensor& grad_hidden,
                      at::Tensor& grad_weight);

}  // namespace balcap::models
