#pragma once
// Private to src/rewards: Exact log-probabilities of short continuations (judge answers: "yes", "B", "10") after prompts,
// from batched full forwards of a Policy. Only the needed positions are projected to the vocabulary
// (never [B, S, V] logits): hidden [M, E] @ output_weight^T -> [M, V].
//
// Rows: per prompt, one row of the prompt alone scores every single-token continuation at once
// (position L-1); each multi-token continuation gets a row prompt + its tokens but the last, scoring
// its tokens at positions L-1 .. L+n-2. Rows are sorted by length and cut into batches of batch_size.
#include <cstdint>
#include <vector>

#include "models/policy.h"

namespace balcap::rewards {

// prompts[r]: ids (+ image) of prompt r; continuations[r][c]: the token ids of continuation c after
// prompt r (non-empty). -> [r][c] = sum_j log softmax(logits(prompt + cont[:j]))[cont[j]], computed in
// float32 from the model's logits. An empty continuation or batch_size < 1 -> balcap::Error.
std::vector<std::vector<double>> continuation_logprobs(
    models::Policy& policy, const std::vector<models::PolicyPrompt>& prompts,
    const std::vector<std::vector<std::vector<int64_t>>>& continuations, int64_t batch_size);

}  // namespace balcap::rewards
