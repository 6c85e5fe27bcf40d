// Constraints that tie fields together; each message names every key involved.
#include "relations.h"

#include <fmt/format.h>

#include "yaml_format.h"

namespace balcap::config::detail {
namespace {

// Reports at the location of `key` (file line or --set) when known.
void problem(Diagnostics& diag, const std::string& key, const std::string& what) {
  diag.add(diag.location_of(key), what);
}

void check_sampling(const SamplingConfig& s, Diagnostics& diag) {
  if (s.min_new_tokens > s.max_new_tokens) {
    problem(diag, "sampling.min_new_tokens",
            fmt::format("'sampling.min_new_tokens' = {} exceeds 'sampling.max_new_tokens' = {}", s.min_new_tokens,
                        s.max_new_tokens));
  }
}

void check_rewards(const RewardsConfig& r, Diagnostics& diag) {
  double total_weight = 0;
  for (const auto& [name, objective] : r.objectives) {
    total_weight += objective.weight;
    std::string key = fmt::format("rewards.objectives.{}.judge", name);
    if (!objective.judge.empty() && !r.judges.count(objective.judge)) {
      std::vector<std::string> names;
      for (const auto& [judge_name, judge] : r.judges) names.push_back(judge_name);
      problem(diag, key,
              fmt::format("'{}' = '{}' names no judge: rewards.judges has {}", key, objective.judge,
                          names.empty() ? std::string("none") : format_value(names)));
    }
    auto judge = r.judges.find(objective.judge);
    if (judge != r.judges.end() && judge->second.kind == "lexical" && objective.scorer == "qa_accuracy") {
      problem(diag, key,
              fmt::format("'rewards.objectives.{}' uses scorer qa_accuracy with the lexical judge '{}', which cannot "
                          "answer questions: use a local or remote judge, or scorer claim_precision",
                          name, objective.judge));
    }
  }
  if (!r.objectives.empty() && !(total_weight > 0)) {
    problem(diag, "rewards.objectives", "the weights of rewards.objectives sum to 0: at least one must be positive");
  }
  for (const auto& [name, judge] : r.judges) {
    std::string prefix = "rewards.judges." + name;
    if (judge.kind == "local" && judge.model.empty()) {
      problem(diag, prefix, fmt::format("'{}.model' is required for a local judge (a checkpoint directory)", prefix));
    }
    if (judge.kind == "remote" && judge.url.empty()) {
      problem(diag, prefix, fmt::format("'{}.url' is required for a remote judge (e.g. http://host:8000/v1)", prefix));
    }
    if (judge.kind == "remote" && judge.total_timeout_s < judge.timeout_s) {
      problem(diag, prefix + ".total_timeout_s",
              fmt::format("'{0}.total_timeout_s' = {1} is below '{0}.timeout_s' = {2}: every request would be cut "
                          "short (total_timeout_s bounds all attempts and retry waits together)",
                          prefix, format_double(judge.total_timeout_s), format_double(judge.timeout_s)));
    }
  }
  for (const PromptProblem& p : prompt_problems(r.prompts)) problem(diag, p.key, p.message);
  const LengthMaskConfig& m = r.length_mask;
  for (std::size_t i = 0; i < m.objectives.size(); ++i) {
    if (!r.objectives.count(m.objectives[i])) {
      problem(diag, "rewards.length_mask.objectives",
              fmt::format("'rewards.length_mask.objectives[{}]' = '{}' is not an objective in rewards.objectives", i,
                          m.objectives[i]));
    }
  }
  check_length_mask_bounds(m, "rewards.length_mask", diag);
}

void check_training(const Config& c, Diagnostics& diag) {
  std::int64_t sequences = c.train.batch_size * c.train.group_size;
  if (c.algo.mini_batches > 0 && sequences % c.algo.mini_batches != 0) {
    problem(diag, "algo.mini_batches",
            fmt::format("'algo.mini_batches' = {} does not divide the {} sequences of a step "
                        "(train.batch_size {} x train.group_size {})",
                        c.algo.mini_batches, sequences, c.train.batch_size, c.train.group_size));
  }
  if (c.optim.min_lr > c.optim.lr) {
    problem(diag, "optim.min_lr",
            fmt::format("'optim.min_lr' = {} exceeds 'optim.lr' = {}", format_double(c.optim.min_lr),
                        format_double(c.optim.lr)));
  }
  if (c.dist.backend == "nccl" && c.train.device == "cpu") {
    problem(diag, "dist.backend", "'dist.backend' = nccl needs a GPU but 'train.device' = cpu (use gloo or auto)");
  }
}

}  // namespace

void check_length_mask_bounds(const LengthMaskConfig& m, const std::string& path, Diagnostics& diag) {
  if (m.min_ratio >= m.max_ratio) {
    problem(diag, path + ".min_ratio",
            fmt::format("'{0}.min_ratio' = {1} must be below '{0}.max_ratio' = {2}", path, format_double(m.min_ratio),
                        format_double(m.max_ratio)));
  }
  if (m.min_tokens > m.max_tokens) {
    problem(diag, path + ".min_tokens",
            fmt::format("'{0}.min_tokens' = {1} exceeds '{0}.max_tokens' = {2}", path, m.min_tokens, m.max_tokens));
  }
}

void check_relations(const Config& config, Diagnostics& diag) {
  check_sampling(config.sampling, diag);
  check_rewards(config.rewards, diag);
  check_training(config, diag);
}

}  // namespace balcap::config::detail
