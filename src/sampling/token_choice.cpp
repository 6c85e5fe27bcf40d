// Token choice per decode step (see token_choice.h).
#include "sampling/token_choice.h"

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

at::Tensor candidate_ids(const Candidates& c, const at::Tensor& column) {
  return c.ids.defined() ? c.ids.gather(1, column) : column;
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

TokenChoice choose_sampled(const at::Tensor& logits, const at::Tensor& step_keys, const WarpSettings& w) {
  const Candidates c = warp(logits, w);
  const int64_t N = c.scores.size(0), K = c.scores.size(1);
  const int64_t width = std::min(K, kDrawBlock), blocks = (K + width - 1) / width;
  const auto long_opts = step_keys.options();
  // Block masses [N, blocks] of the weights exp(s - max) (zero-padded to whole blocks).
  const at::Tensor top = c.scores.amax(-1, /*keepdim=*/true);  // [N, 1]
  at::Tensor weights = at::zeros({N, blocks * width}, c.scores.options());
  at::Tensor live = weights.narrow(1, 0, K);
  at::exp_out(live, c.scores - top);
  const at::Tensor mass = weights.view({N, blocks, width}).sum(-1);  // [N, blocks]
  const at::Tensor total = mass.sum(-1, /*keepdim=*/true);            // [N, 1]
  // Stage 1: a block by Gumbel-max over log masses (stream salted apart from stage 2's).
  const at::Tensor block_noise =
      counter_gumbel(step_keys.bitwise_xor(kBlockSalt), at::arange(blocks, long_opts).view({1, -1}));
  const at::Tensor block = mass.log().add_(block_noise).argmax(-1, /*keepdim=*/true);  // [N, 1]
  // Stage 2: a column of that block by Gumbel-max over the scores.
  const at::Tensor cols = block.mul(width).add(at::arange(width, long_opts).view({1, -1}));  // [N, width]
  const at::Tensor inside = cols.lt(K);
  const at::Tensor scores = c.scores.gather(1, cols.clamp_max(K - 1)).masked_fill_(inside.logical_not(), kNegInf);
  // Noise indexed by token id (not by rank): two near-equal tokens swapping places in a sorted
  // layout keep their own noise, so the draw does not flip with them.
  const at::Tensor noise_index = c.ids.defined() ? c.ids.gather(1, cols.clamp_max(K - 1)) : cols;
  const at::Tensor pick = scores.add(counter_gumbel(step_keys, noise_index)).argmax(-1, /*keepdim=*/true);
  const at::Tensor column = cols.gather(1, pick);  // [N, 1]
  const at::Tensor logprobs = c.scores.gather(1, column).sub_(top).sub_(total.log());
  return {candidate_ids(c, column).squeeze(1), logprobs.squeeze(1)};
}

at::Tensor warped_log_probs(const at::Tensor& logits, const WarpSettings& w) {
  const Candidates c = warp(logits, w);
  const at::Tensor logp = c.scores.log_softmax(-1);
  if (!c.ids.defined()) return logp;
  return at::full_like(logits, kNegInf).scatter_(1, c.ids, logp);
}

}  // namespace balcap::sampling
