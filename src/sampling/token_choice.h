#pragma once
// Private to src/sampling: One decode step's token choice for N rows, as transformers' logits processors + warpers
// (generation/logits_process.py), in this order:
//   repetition penalty (RepetitionPenaltyLogitsProcessor: over the prompt and the generated ids)
//   -> stop ids blocked before min_new_tokens (MinNewTokensLengthLogitsProcessor)
//   -> greedy argmax, or: temperature -> top-k -> top-p -> one exact draw in two Gumbel-max stages.
// The candidates (sorted descending when top-k/top-p cut them, vocabulary order otherwise) are cut
// into blocks of kDrawBlock columns: stage 1 picks a block by Gumbel-max over the blocks' log masses,
// stage 2 a column inside it by Gumbel-max over the scores; P(block) * P(column | block) = p(column).
// The noise is counter-based (counter_rng.h: the row's step key and the block / column index), and
// a draw only flips when two perturbed scores lie within rounding of each other (~1e-6), unlike an
// inverse CDF over 150k tiny intervals, so a row's tokens survive a different batch size or
// compaction (matmul rounding). The recorded logprob is log p(token) under exactly that
// renormalised, filtered, tempered distribution (greedy: log_softmax of the processed logits, T = 1).
#include <ATen/ATen.h>

#include <cstdint>

namespace balcap::sampling {

struct TokenChoice {
  at::Tensor tokens;    // [N] int64
  at::Tensor logprobs;  // [N] float32
};

struct WarpSettings {
  double temperature = 1.0;
  int64_t top_k = 0;   // 0 = off
  double top_p = 1.0;  // 1 = off
};

// logits [N, V] float32, modified in place: logits[n, id] = -inf for every id in `ids` [K] int64.
void block_tokens(at::Tensor& logits, const at::Tensor& ids);

// HF repetition penalty, in place: for every id in history[n] ([N, T] int64; pad slots must repeat a
// real id of the row), a logit s becomes s * penalty if s < 0 else s / penalty (once per id).
void apply_repetition_penalty(at::Tensor& logits, const at::Tensor& history, double penalty);

// Greedy: argmax (first maximum) and its log_softmax at T = 1.
TokenChoice choose_greedy(const at::Tensor& logits);

inline constexpr int64_t kDrawBlock = 512;

// Tempered, filtered draw; step_keys [N] int64 from counter_rng.h step_keys().
TokenChoice choose_sampled(const at::Tensor& logits, const at::Tensor& step_keys, const WarpSettings& warp);

// The filtered, tempered log-distribution itself, [N, V] float32 (-inf outside the kept set). For
// tests and diagnostics (the sampler never materialises it in vocabulary order).
at::Tensor warped_log_probs(const at::Tensor& logits, const WarpSettings& warp);

}  // namespace balcap::sampling
