// Token choice per decode step (see token_choice.h).
#include "sampling/token_choice.h"

#include "models/softmax_rows.h"
#include "sampling/counter_rng.h"

#include <algorithm>
#include <limits>

namespace balcap::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kBlockSalt = 0x5bd1e9955bd1e995LL;  // separates the stage-1 noise stream

// Candidates of a row: scores [N, K] and, when the layout is not the vocabulary's, their ids [N, K].
struct Candidates {
  at::Tensor scores;
  at::Tensor ids;  // undefined: column k is token k
};

// Temperature, then top-k (descending, K = k), then top-p over the survivors (HF order).
Candidates warp(const at::Tensor& logits, const WarpSettings& w) {
  Candidates c{w.temperature == 1.0 ? logits : logits / w.temperature, {}};
  const int64_t V = logits.size(-1);
  if (w.top_k > 0 && w.top_k < V) {
    std::tie(c.scores, c.ids) = c.scores.topk(w.top_k, -1, /*largest=*/true, /*sorted=*/true);
  } else if (w.top_p < 1.0) {
    std::tie(c.scores, c.ids) = c.scores.sort(-1, /*descending=*/true);
  }
  if (w.top_p < 1.0) {
    // Keep token i (descending order) while the mass strictly before it is < top_p: the smallest
    // set with mass >= top_p (HF's ascending `cumsum <= 1 - top_p` removal, the best always kept).
    const at::Tensor probs = c.scores.softmax(-1);
    const at::Tensor before = probs.cumsum(-1).sub_(probs);
    c.scores = c.scores.masked_fill(before >= w.top_p, kNegInf);
  }
  return c;
}

}  // namespace

void block_tokens(at::Tensor& logits, const at::Tensor& ids) {
  if (ids.numel() > 0) logits.index_fill_(1, ids, kNegInf);
}

void apply_repetition_penalty(at::Tensor& logits, const at::Tensor& history, double penalty) {
  if (penalty == 1.0) return;
  const at::Tensor seen = logits.gather(1, history);  // [N, T]
  const at::Tensor penalised = at::where(seen < 0, seen * penalty, seen / penalty);
  logits.scatter_(1, history, penalised);  // repeated ids carry the same value
}

TokenChoice choose_greedy(const at::Tensor& logits) {
  const at::Tensor column = logits.argmax(-1, /*keepdim=*/true);  // [N, 1]
  const at::Tensor logprobs = logits.gather(1, column).sub_(logits.logsumexp(-1, /*keepdim=*/true));
  return {column.squeeze(1), logprobs.squeeze(1)};
}

namespace {

// Stage 1's weights: the row maxima `top` [N, 1] of the scores and the block masses [N, blocks] of
// exp(s - top), the last block zero-padded.
struct BlockMasses {
  at::Tensor top, mass;
};

BlockMasses block_masses(const at::Tensor& scores, int64_t width, int64_t blocks) {
  const int64_t N = scores.size(0), K = scores.size(1);
  BlockMasses b{scores.amax(-1, /*keepdim=*/true), {}};
  at::Tensor weights = at::zeros({N, blocks * width}, scores.options());
  at::Tensor live = weights.narrow(1, 0, K);
  at::exp_out(live, scores - b.top);
  b.mass = weights.view({N, blocks, width}).sum(-1);
  return b;
}

// The two Gumbel-max stages over block masses; `score_at(cols)` gives the scores of columns cols
// [N, width] (< K), `ids` the candidates' token ids (undefined: column = token id).
template <typename ScoreAt>
TokenChoice draw(const BlockMasses& b, int64_t K, int64_t width, const at::Tensor& ids, const at::Tensor& step_keys,
                 const ScoreAt& score_at) {
  const auto long_opts = step_keys.options();
  const int64_t blocks = b.mass.size(1);
  const at::Tensor total = b.mass.sum(-1, /*keepdim=*/true);  // [N, 1]
  // Stage 1: a block by Gumbel-max over log masses (stream salted apart from stage 2's).
  const at::Tensor block_noise =
      counter_gumbel(step_keys.bitwise_xor(kBlockSalt), at::arange(blocks, long_opts).view({1, -1}));
  const at::Tensor block = b.mass.log().add_(block_noise).argmax(-1, /*keepdim=*/true);  // [N, 1]
  // Stage 2: a column of that block by Gumbel-max over the scores.
  const at::Tensor cols = block.mul(width).add(at::arange(width, long_opts).view({1, -1}));  // [N, width]
  const at::Tensor inside = cols.lt(K);
  const at::Tensor clamped = cols.clamp_max(K - 1);
  const at::Tensor scores = score_at(clamped).masked_fill_(inside.logical_not(), kNegInf);
  // Noise indexed by token id (not by rank): two near-equal tokens swapping places in a sorted
  // layout keep their own noise, so the draw does not flip with them.
  const at::Tensor noise_index = ids.defined() ? ids.gather(1, clamped) : cols;
  const at::Tensor pick = scores.add(counter_gumbel(step_keys, noise_index)).argmax(-1, /*keepdim=*/true);
  const at::Tensor column = cols.gather(1, pick);  // [N, 1]
  const at::Tensor logprobs = score_at(column).sub_(b.top).sub_(total.log());
  return {(ids.defined() ? ids.gather(1, column) : column).squeeze(1), logprobs.squeeze(1)};
}

}  // namespace

TokenChoice choose_sampled(const at::Tensor& logits, const at::Tensor& step_keys, const WarpSettings& w) {
  const int64_t V = logits.size(-1), width = std::min(V, kDrawBlock);
  const bool cut = (w.top_k > 0 && w.top_k < V) || w.top_p < 1.0;
  if (!cut && width % 8 == 0 && models::softmax_rows_apply(logits)) {  // 8: the fused kernel's lanes
    // Temperature only, float32 on the CPU: the masses in one fused pass over each row (scores
    // s = z * (1 / T), as the fused loss computes them), the scores of a block's columns gathered.
    const models::SoftmaxBlockMasses m = models::softmax_block_masses(logits, w.temperature, width);
    const auto inv_t = static_cast<float>(1.0 / w.temperature);
    return draw({m.shift, m.mass}, V, width, {}, step_keys,
                [&](const at::Tensor& cols) { return logits.gather(1, cols).mul_(inv_t); });
  }
  const Candidates c = warp(logits, w);
  const int64_t K = c.scores.size(1), kw = std::min(K, kDrawBlock), kb = (K + kw - 1) / kw;
  return draw(block_masses(c.scores, kw, kb), K, kw, c.ids, step_keys,
              [&](const at::Tensor& cols) { return c.scores.gather(1, cols); });
}

at::Tensor warped_log_probs(const at::Tensor& logits, const WarpSettings& w) {
  const Candidates c = warp(logits, w);
  const at::Tensor logp = c.scores.log_softmax(-1);
  if (!c.ids.defined()) return logp;
  return at::full_like(logits, kNegInf).scatter_(1, c.ids, logp);
}

}  // namespace balcap::sampling
