// Batched continuation log-probabilities (see continuation_logprobs.h), through models'
// policy_logprobs.
#include "rewards/continuation_logprobs.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "models/policy_logprobs.h"

namespace balcap::rewards {
namespace {

// The rows to score and, per query of each row, the (request, choice) whose sum it adds to.
struct Plan {
  std::vector<models::LogprobRow> rows;
  std::vector<std::vector<std::pair<size_t, size_t>>> owners;
  void add(models::LogprobRow row, std::vector<std::pair<size_t, size_t>> owner) {
    rows.push_back(std::move(row));
    owners.push_back(std::move(owner));
  }
};

// Prompt r's rows: one of the prompt alone for every single-token continuation (all read at the
// last prompt position), one per multi-token continuation (prompt + its tokens but the last).
void plan_prompt(const std::vector<models::PolicyPrompt>& prompts, const std::vector<std::vector<int64_t>>& conts, size_t r,
                 Plan& plan) {
  const models::PolicyPrompt& prompt = prompts[r];
  BALCAP_CHECK(!prompt.ids.empty(), "judge scoring: prompt {} has no tokens. HINT: this is a bug in the caller.", r);
  const auto last = static_cast<int64_t>(prompt.ids.size()) - 1;
  models::LogprobRow single{&prompt, prompt.ids, {}, {}};
  std::vector<std::pair<size_t, size_t>> single_owners;
  for (size_t c = 0; c < conts.size(); ++c) {
    const std::vector<int64_t>& cont = conts[c];
    BALCAP_CHECK(!cont.empty(),
                 "judge scoring: choice {} of request {} has no tokens after the prompt. HINT: choices must be "
                 "non-empty text.",
                 c, r);
    if (cont.size() == 1) {
      single.positions.push_back(last), single.targets.push_back(cont[0]), single_owners.emplace_back(r, c);
      continue;
    }
    models::LogprobRow row{&prompt, prompt.ids, {}, cont};
    row.ids.insert(row.ids.end(), cont.begin(), cont.end() - 1);
    for (size_t j = 0; j < cont.size(); ++j) row.positions.push_back(last + static_cast<int64_t>(j));
    plan.add(std::move(row), std::vector<std::pair<size_t, size_t>>(cont.size(), {r, c}));
  }
  if (!single.targets.empty()) plan.add(std::move(single), std::move(single_owners));
}

// Longest first: rows of similar length share a forward (less padding).
Plan sorted_by_length(Plan plan) {
  std::vector<size_t> order(plan.rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return plan.rows[a].ids.size() > plan.rows[b].ids.size(); });
  Plan sorted;
  for (size_t i : order) sorted.add(std::move(plan.rows[i]), std::move(plan.owners[i]));
  return sorted;
}

}  // namespace

std::vector<std::vector<double>> continuation_logprobs(
    models::Policy& policy, const std::vector<models::PolicyPrompt>& prompts,
    const std::vector<std::vector<std::vector<int64_t>>>& continuations, int64_t batch_size) {
  BALCAP_CHECK(batch_size >= 1, "judge scoring: batch_size {} must be at least 1. HINT: fix the judge's batch_size.",
               batch_size);
  BALCAP_CHECK(prompts.size() == continuations.size(),
               "judge scoring: {} prompts but {} continuation lists. HINT: this is a bug in the caller.",
               prompts.size(), continuations.size());
  std::vector<std::vector<double>> out(prompts.size());
  Plan plan;
  for (size_t r = 0; r < prompts.size(); ++r) {
    out[r].assign(continuations[r].size(), 0.0);
    plan_prompt(prompts, continuations[r], r, plan);
  }
  plan = sorted_by_length(std::move(plan));
  torch::NoGradGuard no_grad;
  const at::Tensor lp = models::policy_logprobs(policy, plan.rows, {batch_size, {}}).logprobs.cpu();
  const float* values = lp.data_ptr<float>();
  size_t m = 0;
  for (const auto& owners : plan.owners) {
    for (auto [request, choice] : owners) out[request][choice] += values[m++];
  }
  return out;
}

}  // namespace balcap::rewards
