#pragma once
// Log-probabilities of completion tokens given their prompts, with grad, for the loss (RL and SFT):
// one full forward of the right-padded rows, then the chunked sampled-token logprobs over only the
// positions that predict completion tokens (no [tokens, vocab] logits are ever held).
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "algo/token_logprobs.h"
#include "models/policy.h"

namespace balcap::train {

// One row: a prompt (its ids and its processed image, shared by the G rows of a group) and the
// completion ids that follow it (the sampled caption with its stop token, or a reference caption).
struct CompletionRow {
  const PolicyPrompt* prompt = nullptr;
  const std::vector<std::int64_t>* completion = nullptr;
};

struct CompletionLogprobs {
  at::Tensor logprobs;                // [T] float32, T = sum of completion lengths, rows one after another
  at::Tensor entropy;                 // [T] or undefined (options.entropy false)
  std::vector<std::int64_t> lengths;  // completion length of each row
};

// Row b's completion token t sits at position P_b + t of the row (P_b = prompt length) and is
// predicted by the hidden state at P_b + t - 1. Empty completions -> balcap::Error.
CompletionLogprobs completion_logprobs(Policy& policy, const std::vector<CompletionRow>& rows,
                                       const algo::TokenLogprobsOptions& options);

}  // namespace balcap::train
