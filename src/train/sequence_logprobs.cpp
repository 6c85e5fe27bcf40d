// Completion-token logprobs of a micro-batch; see src/train/sequence_logprobs.h.
#include "train/sequence_logprobs.h"

#include "core/error.h"

namespace balcap::train {

namespace {

// Flat indices (into [B * S]) of the positions predicting each completion token, and the targets.
struct Positions {
  std::vector<std::int64_t> index;
  std::vector<std::int64_t> target;
};

Positions predicting_positions(const std::vector<CompletionRow>& rows, std::int64_t seq_len) {
  Positions p;
  for (std::size_t b = 0; b < rows.size(); ++b) {
    const auto prompt_len = static_cast<std::int64_t>(rows[b].prompt->ids.size());
    const auto& completion = *rows[b].completion;
    for (std::size_t t = 0; t < completion.size(); ++t) {
      p.index.push_back(static_cast<std::int64_t>(b) * seq_len + prompt_len + static_cast<std::int64_t>(t) - 1);
      p.target.push_back(completion[t]);
    }
  }
  return p;
}

}  // namespace

CompletionLogprobs completion_logprobs(Policy& policy, const std::vector<CompletionRow>& rows,
                                       const algo::TokenLogprobsOptions& options) {
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<const PolicyPrompt*> images;
  CompletionLogprobs out;
  for (const CompletionRow& row : rows) {
    BALCAP_CHECK(row.prompt && row.completion && !row.completion->empty() && !row.prompt->ids.empty(),
                 "completion_logprobs: a row has an empty prompt or completion. HINT: every trained caption "
                 "needs at least one token.");
    std::vector<std::int64_t> seq = row.prompt->ids;
    seq.insert(seq.end(), row.completion->begin(), row.completion->end());
    ids.push_back(std::move(seq));
    images.push_back(row.prompt);
    out.lengths.push_back(static_cast<std::int64_t>(row.completion->size()));
  }
  const PolicyBatch batch = make_policy_batch(ids, images, policy.device());
  at::Tensor hidden = policy.hidden_states(batch);  // [B, S, E]
  const Positions pos = predicting_positions(rows, hidden.size(1));
  const auto long_opts = at::TensorOptions().dtype(at::kLong);
  at::Tensor index = at::tensor(pos.index, long_opts).to(policy.device());
  at::Tensor targets = at::tensor(pos.target, long_opts).to(policy.device());
  at::Tensor picked = hidden.reshape({-1, hidden.size(2)}).index_select(0, index);  // [T, E]
  algo::TokenLogprobs lp = algo::token_logprobs(picked, policy.output_weight(), targets, options);
  out.logprobs = lp.logprobs;
  out.entropy = lp.entropy;
  return out;
}

}  // namespace balcap::train
