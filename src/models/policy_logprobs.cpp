// Token log-probabilities under a Policy; see src/models/policy_logprobs.h.
#include "models/policy_logprobs.h"

#include <algorithm>

#include "core/error.h"

namespace balcap::models {
namespace {

void check_row(const LogprobRow& row, size_t r) {
  BALCAP_CHECK(!row.ids.empty(), "policy_logprobs: row {} has no tokens. HINT: every scored sequence needs a prompt.",
               r);
  BALCAP_CHECK(row.positions.size() == row.targets.size(),
               "policy_logprobs: row {} asks about {} positions but gives {} targets. HINT: one target per position.",
               r, row.positions.size(), row.targets.size());
  for (int64_t p : row.positions) {
    BALCAP_CHECK(p >= 0 && p < static_cast<int64_t>(row.ids.size()),
                 "policy_logprobs: row {} asks about position {} of a {}-token row. HINT: position p scores the "
                 "token that follows ids[p].",
                 r, p, row.ids.size());
  }
}

// Rows [begin, end) in one forward: the hidden states of the asked positions, scored. `first`: the
// index of their first query among all rows' (where gradient_in_forward's row indices start).
TokenLogprobs forward_rows(Policy& policy, const std::vector<LogprobRow>& rows, size_t begin, size_t end,
                           std::int64_t first, const PolicyLogprobsOptions& options) {
  std::vector<std::vector<int64_t>> ids;
  std::vector<const PolicyPrompt*> images;
  for (size_t r = begin; r < end; ++r) {
    ids.push_back(rows[r].ids);
    images.push_back(rows[r].image);
  }
  const at::Device device = policy.device();
  const at::Tensor hidden =
      policy.hidden_states(make_policy_batch(ids, images, device, options.share_images));  // [B, S, E]
  std::vector<int64_t> flat, targets;  // flat indices into the [B * S] positions
  for (size_t r = begin; r < end; ++r) {
    for (int64_t p : rows[r].positions) flat.push_back(static_cast<int64_t>(r - begin) * hidden.size(1) + p);
    targets.insert(targets.end(), rows[r].targets.begin(), rows[r].targets.end());
  }
  const at::Tensor picked =
      hidden.reshape({-1, hidden.size(2)}).index_select(0, at::tensor(flat, at::kLong).to(device));  // [M, E]
  TokenLogprobsOptions tokens = options.tokens;
  if (tokens.gradient_in_forward && first > 0) {
    tokens.gradient_in_forward = [first, all = options.tokens.gradient_in_forward](
                                     std::int64_t start, const at::Tensor& logprob, const at::Tensor& entropy) {
      return all(first + start, logprob, entropy);
    };
  }
  return token_logprobs(picked, policy.output_weight(), at::tensor(targets, at::kLong).to(device), tokens);
}

// Concatenates the batches' tensors (undefined stays undefined).
at::Tensor cat_defined(const std::vector<at::Tensor>& parts) {
  if (parts.empty() || !parts.front().defined()) return {};
  return parts.size() == 1 ? parts.front() : at::cat(parts);
}

}  // namespace

LogprobRow completion_row(const PolicyPrompt& prompt, const std::vector<int64_t>& completion) {
  BALCAP_CHECK(!completion.empty() && !prompt.ids.empty(),
               "completion_row: a row has an empty prompt or completion. HINT: every trained caption needs at least "
               "one token.");
  LogprobRow row{&prompt, prompt.ids, {}, completion};
  row.ids.insert(row.ids.end(), completion.begin(), completion.end());
  const auto first = static_cast<int64_t>(prompt.ids.size()) - 1;
  for (size_t t = 0; t < completion.size(); ++t) row.positions.push_back(first + static_cast<int64_t>(t));
  return row;
}

PolicyLogprobs policy_logprobs(Policy& policy, const std::vector<LogprobRow>& rows,
                               const PolicyLogprobsOptions& options) {
  PolicyLogprobs out;
  for (size_t r = 0; r < rows.size(); ++r) {
    check_row(rows[r], r);
    out.counts.push_back(static_cast<int64_t>(rows[r].positions.size()));
  }
  const size_t step = options.rows_per_forward > 0 ? static_cast<size_t>(options.rows_per_forward) : rows.size();
  std::vector<at::Tensor> logprobs, entropy, top_logprobs, top_ids;
  std::int64_t first = 0;  // queries of the rows before `begin`
  for (size_t begin = 0; begin < rows.size(); begin += step) {
    TokenLogprobs lp = forward_rows(policy, rows, begin, std::min(rows.size(), begin + step), first, options);
    first += lp.logprobs.size(0);
    logprobs.push_back(lp.logprobs);
    entropy.push_back(lp.entropy);
    top_logprobs.push_back(lp.top_logprobs);
    top_ids.push_back(lp.top_ids);
  }
  out.logprobs = logprobs.empty() ? at::empty({0}, at::kFloat) : cat_defined(logprobs);
  out.entropy = cat_defined(entropy);
  out.top_logprobs = cat_defined(top_logprobs);
  out.top_ids = cat_defined(top_ids);
  return out;
}

}  // namespace balcap::models
