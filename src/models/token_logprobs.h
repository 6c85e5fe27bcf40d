#pragma once
// Private to src/models: Sampled-token log-probabilities (and entropies) of a causal LM head without ever holding the
// [N, V] logits: the rows are processed in chunks, each chunk's logits live only inside the
// chunk (forward) and are recomputed in backward. For Qwen (V = 151,936) a full float32 logits
// tensor of 8 x 531 tokens alone is 2.6 GB, plus as much again for its gradient and softmax.
//
//   logits[n] = (hidden[n] @ weight^T) / temperature          (float32 per chunk)
//   logprob[n] = logits[n, target[n]] - logsumexp(logits[n])
//   entropy[n] = -sum_v p[n, v] log p[n, v],  p = softmax(logits[n])
//   top[n]     = the top_k largest logits[n, v] - logsumexp(logits[n]) and their ids (no grad)
//
// Gradients (d logprob / d logits = onehot - p; d entropy / d logits = -p (logits - E_p[logits]))
// flow into `hidden` and `weight` exactly as autograd through a full log_softmax would; computed
// in backward from recomputed logits, or in forward when the loss's per-token gradient is known
// there (TokenLogprobsOptions::gradient_in_forward).
#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <utility>

namespace balcap::models {

// The gradient of a loss that is a sum of per-token terms (the PPO loss is: w(t) loss(t), each term
// a function of token t's log-probability and entropy only) with respect to rows [start, start + c):
// given their log-probabilities [c] and entropies [c] (undefined when not computed), returns
// {d loss / d logprob [c], d loss / d entropy [c] or undefined}. Called by the forward pass, chunk
// by chunk, while the chunk's logits exist, with grad mode off (enable it to use autograd).
using HeadGradient =
    std::function<std::pair<at::Tensor, at::Tensor>(std::int64_t start, const at::Tensor& logprob,
                                                    const at::Tensor& entropy)>;

struct TokenLogprobsOptions {
  // Rows per chunk; 0 = as many as fit chunk_bytes of float32 logits (at least 1).
  std::int64_t chunk_rows = 0;
  std::int64_t chunk_bytes = std::int64_t{256} << 20;
  // The sampler's distribution: logits are divided by it before the softmax.
  double temperature = 1.0;
  // Also compute entropies; with entropy_grad they carry gradient (entropy bonus), otherwise
  // they are a detached metric.
  bool entropy = false;
  bool entropy_grad = false;
  // Also return each row's top_k log-probabilities and their ids (what an OpenAI `logprobs`
  // answer lists); never differentiable.
  std::int64_t top_k = 0;
  // Set: the head's gradients (hidden and weight) are computed in the forward pass from the
  // gradient this predicts, 3 GEMMs per chunk instead of 4 (the chunk's logits are not recomputed
  // in backward) and one softmax pass less. Backward checks that the gradient it receives is the
  // predicted one (within fp32 rounding: the prediction sees chunk slices) and otherwise recomputes
  // as without it, so a wrong prediction costs time, never a wrong gradient.
  HeadGradient gradient_in_forward;
};

struct TokenLogprobs {
  at::Tensor logprobs;  // [N] float32, differentiable w.r.t. hidden and weight
  at::Tensor entropy;   // [N] float32, or undefined when not requested
  at::Tensor top_logprobs;  // [N, top_k] float32, best first, or undefined when top_k = 0
  at::Tensor top_ids;       // [N, top_k] int64, or undefined
};

// hidden: [N, E] (the positions that predict the targets), weight: [V, E] (same dtype/device),
// targets: [N] int64 in [0, V). Throws balcap::Error on mismatched shapes or out-of-range ids.
TokenLogprobs token_logprobs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                             const TokenLogprobsOptions& options = {});

// The rows per chunk token_logprobs uses for a vocabulary of `vocab` entries.
std::int64_t token_logprobs_chunk_rows(std::int64_t vocab, const TokenLogprobsOptions& options);

}  // namespace balcap::models
