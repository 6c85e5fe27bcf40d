// Batched continuation log-probabilities (see continuation_logprobs.h).
#include "rewards/continuation_logprobs.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace balcap::rewards {
namespace {

// One token to score: log P(token | row ids[:position + 1]) adds to out[request][choice].
struct Target {
  size_t choice = 0;
  int64_t position = 0;
  int64_t token = 0;
};

struct Row {
  size_t request = 0;
  std::vector<int64_t> ids;
  std::vector<Target> targets;
};

std::vector<Row> make_rows(const std::vector<PolicyPrompt>& prompts,
                           const std::vector<std::vector<std::vector<int64_t>>>& continuations) {
  std::vector<Row> rows;
  for (size_t r = 0; r < prompts.size(); ++r) {
    const std::vector<int64_t>& prompt = prompts[r].ids;
    BALCAP_CHECK(!prompt.empty(), "judge scoring: prompt {} has no tokens. HINT: this is a bug in the caller.", r);
    const auto last = static_cast<int64_t>(prompt.size()) - 1;
    Row single{r, prompt, {}};  // every single-token continuation, read at the prompt's last position
    for (size_t c = 0; c < continuations[r].size(); ++c) {
      const std::vector<int64_t>& cont = continuations[r][c];
      BALCAP_CHECK(!cont.empty(),
                   "judge scoring: choice {} of request {} has no tokens after the prompt. HINT: choices must be "
                   "non-empty text.",
                   c, r);
      if (cont.size() == 1) {
        single.targets.push_back({c, last, cont[0]});
        continue;
      }
      Row row{r, prompt, {}};
      row.ids.insert(row.ids.end(), cont.begin(), cont.end() - 1);
      for (size_t j = 0; j < cont.size(); ++j) row.targets.push_back({c, last + static_cast<int64_t>(j), cont[j]});
      rows.push_back(std::move(row));
    }
    if (!single.targets.empty()) rows.push_back(std::move(single));
  }
  // Longest first: rows of similar length share a batch (less padding).
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.ids.size() > b.ids.size(); });
  return rows;
}

// Scores rows [begin, end) in one forward, adding into `out`.
void score_batch(Policy& policy, const std::vector<PolicyPrompt>& prompts, const std::vector<Row>& rows, size_t begin,
                 size_t end, std::vector<std::vector<double>>& out) {
  std::vector<std::vector<int64_t>> ids;
  std::vector<const PolicyPrompt*> images;
  std::vector<int64_t> flat_index, tokens;                      // over the [B * S] positions of the batch
  const auto S = static_cast<int64_t>(rows[begin].ids.size());  // the longest row comes first
  for (size_t i = begin; i < end; ++i) {
    ids.push_back(rows[i].ids);
    images.push_back(&prompts[rows[i].request]);
    for (const Target& t : rows[i].targets) {
      flat_index.push_back(static_cast<int64_t>(i - begin) * S + t.position);
      tokens.push_back(t.token);
    }
  }
  const at::Device device = policy.device();
  const PolicyBatch batch = make_policy_batch(ids, images, device);
  const at::Tensor hidden = policy.hidden_states(batch);  // [B, S, E]
  const at::Tensor picked =
      hidden.reshape({-1, hidden.size(2)}).index_select(0, at::tensor(flat_index, at::kLong).to(device));     // [M, E]
  const at::Tensor logprobs = at::matmul(picked, policy.output_weight().t()).to(at::kFloat).log_softmax(-1);  // [M, V]
  const at::Tensor chosen =
      logprobs.gather(1, at::tensor(tokens, at::kLong).to(device).view({-1, 1})).view(-1).to(at::kCPU);  // [M]
  const float* values = chosen.data_ptr<float>();
  size_t m = 0;
  for (size_t i = begin; i < end; ++i) {
    for (const Target& t : rows[i].targets) out[rows[i].request][t.choice] += values[m++];
  }
}

}  // namespace

std::vector<std::vector<double>> continuation_logprobs(
    Policy& policy, const std::vector<PolicyPrompt>& prompts,
    const std::vector<std::vector<std::vector<int64_t>>>& continuations, int64_t batch_size) {
  BALCAP_CHECK(batch_size >= 1, "judge scoring: batch_size {} must be at least 1. HINT: fix the judge's batch_size.",
               batch_size);
  BALCAP_CHECK(prompts.size() == continuations.size(),
               "judge scoring: {} prompts but {} continuation lists. HINT: this is a bug in the caller.",
               prompts.size(), continuations.size());
  std::vector<std::vector<double>> out(prompts.size());
  for (size_t r = 0; r < prompts.size(); ++r) out[r].assign(continuations[r].size(), 0.0);
  const std::vector<Row> rows = make_rows(prompts, continuations);
  torch::NoGradGuard no_grad;
  for (size_t begin = 0; begin < rows.size(); begin += static_cast<size_t>(batch_size)) {
    score_batch(policy, prompts, rows, begin, std::min(rows.size(), begin + static_cast<size_t>(batch_size)), out);
  }
  return out;
}

}  // namespace balcap::rewards
