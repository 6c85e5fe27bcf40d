#pragma once
// The output head's softmax over a block of logit rows, fused for float32 on the CPU. ATen spends five to nine passes over a [c, V] block for a log-softmax, its entropy and
// its gradient (max, subtract, exp, sum, log, multiply, ...), each a trip to memory for V =
// 151,936 (608 KB a row). Here each row is read from memory once for its statistics (a max, then
// an exp-sum while the row sits in the L2 cache) and, when the full gradient is asked, once more.
// Used by token_logprobs (the loss's chunks) and the sampler's draw (block masses); other devices
// and dtypes keep ATen's ops.
//
// With x = z / T (z: raw logits, T: temperature), m = max x, e_v = exp(x_v - m), s = sum_v e_v:
//   logsumexp = m + log s,   logprob(t) = x_t - m - log s,
//   entropy   = -sum p log p = log s - sum_v e_v (x_v - m) / s   (each term a few nats: no
//               cancellation between two large numbers).
// The exp is a polynomial after range reduction (Cephes' expf, <= 1 ulp in [-87.3, 0]); exp of
// -inf (a blocked token) is exactly 0.
#include <ATen/ATen.h>

namespace balcap::models {

// Whether the fused kernels take `z`: 2-D, float32, contiguous, on the CPU.
bool softmax_rows_apply(const at::Tensor& z);

struct SoftmaxRowStats {
  at::Tensor shift;     // [c] m = max_v z_v / T
  at::Tensor log_mass;  // [c] log s
  at::Tensor logprob;   // [c] log p(target)
  at::Tensor entropy;   // [c], or undefined when not asked
};

// Statistics of each row of `z` [c, V] (raw logits) for `targets` [c] int64. With `to_exp`, `z` is
// overwritten by e = exp(z / T - m), the unnormalised probabilities (p = e / s) that
// add_head_grads_from_exp turns into the head's gradients without another pass.
SoftmaxRowStats softmax_row_stats(at::Tensor& z, const at::Tensor& targets, double temperature, bool entropy,
                                  bool to_exp);

// Overwrites `z` [c, V] (raw logits, as given to softmax_row_stats without to_exp) by d loss / d z
// for per-row gradients g_logprob [c] and g_entropy [c] (either undefined = 0):
//   d/dx = onehot(t) g_logprob - p (g_logprob + g_entropy (log p + entropy)),   d/dz = d/dx / T.
// g_entropy needs stats.entropy.
void softmax_logits_grad_(at::Tensor& z, const at::Tensor& targets, double temperature, const SoftmaxRowStats& stats,
                          const at::Tensor& g_logprob, const at::Tensor& g_entropy);

struct SoftmaxBlockMasses {
  at::Tensor shift;  // [c, 1] m = max_v z_v / T
  at::Tensor mass;   // [c, ceil(V / width)] sum of e_v over each block of `width` columns (the last block partial)
};

// The sampler's stage-1 weights (sampling/token_choice.h) from raw logits `z` [c, V], left as they
// are: one max pass and one exp pass per row, nothing of size [c, V] written. `width`: a multiple of 8.
SoftmaxBlockMasses softmax_block_masses(const at::Tensor& z, double temperature, std::int64_t width);

}  // namespace balcap::models
