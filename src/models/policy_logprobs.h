#pragma once
// Log-probabilities of chosen tokens under a Policy: the one routine behind the loss (RL and SFT,
// with grad), the local judge's choice scoring and `balcap serve`'s echo / logprobs (without).
// Rows go through full forwards, rows_per_forward at a time (right-padded, each with its image);
// only the positions a row asks about are projected to the vocabulary, in chunks
// (token_logprobs.h), so no [B, S, V] logits tensor is ever held.
//
//   std::vector<LogprobRow> rows{completion_row(prompt, caption_ids)};   // every caption token
//   PolicyLogprobs lp = policy_logprobs(policy, rows, {.tokens = {.entropy = true}});
//   lp.logprobs: [M] float32, row 0's queries first; lp.counts[r]: queries of row r
//
// Autograd follows the caller's mode: under NoGradGuard / InferenceMode nothing is recorded.
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "models/policy.h"
#include "models/token_logprobs.h"

namespace balcap::models {

// One sequence of a forward and the tokens asked about in it: the token targets[q] at position
// positions[q] + 1, i.e. log P(targets[q] | ids[0 .. positions[q]]). A target need not be in ids
// (several answers scored at one position).
struct LogprobRow {
  const PolicyPrompt* image = nullptr;  // the prompt whose pixel values the row carries (or text-only)
  std::vector<int64_t> ids;             // the whole row: prompt ids then what follows
  std::vector<int64_t> positions;       // each in [0, ids.size())
  std::vector<int64_t> targets;         // one per position
};

// prompt + completion, every completion token scored (prompt length P: positions P-1 .. P+n-2).
// An empty prompt or completion -> balcap::Error.
LogprobRow completion_row(const PolicyPrompt& prompt, const std::vector<int64_t>& completion);

struct PolicyLogprobsOptions {
  int64_t rows_per_forward = 0;  // 0: every row in one forward
  bool share_images = false;     // rows of one prompt share one vision-tower run (make_policy_batch)
  TokenLogprobsOptions tokens;   // temperature, entropy, top_k, chunk size
};

struct PolicyLogprobs {
  at::Tensor logprobs;          // [M] float32, the rows' queries one after another
  at::Tensor entropy;           // [M] or undefined (tokens.entropy false)
  at::Tensor top_logprobs;      // [M, top_k] or undefined (tokens.top_k 0)
  at::Tensor top_ids;           // [M, top_k] int64 or undefined
  std::vector<int64_t> counts;  // queries of each row (M = their sum)
};

// An empty row, a position outside its row or a positions/targets size mismatch -> balcap::Error.
PolicyLogprobs policy_logprobs(Policy& policy, const std::vector<LogprobRow>& rows,
                               const PolicyLogprobsOptions& options = {});

}  // namespace balcap::models
