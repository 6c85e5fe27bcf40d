// Reward phase; see src/train/reward_phase.h.
#include "train/reward_phase.h"

#include <chrono>

#include <map>

#include "rewards/b_capscore.h"

namespace balcap::train {

double ReferenceLengths::of(const data::Record& record) {
  auto it = cache_.find(record.index);
  if (it != cache_.end()) return it->second;
  double total = 0;
  for (const std::string& ref : record.references) total += static_cast<double>(tokenizer_.encode(ref, false).size());
  const double mean = record.references.empty() ? 0.0 : total / static_cast<double>(record.references.size());
  cache_[record.index] = mean;
  return mean;
}

std::int64_t caption_tokens(const sampling::Sample& sample) {
  const auto n = static_cast<std::int64_t>(sample.ids.size());
  return sample.finish_reason == "stop" && n > 0 ? n - 1 : n;
}

namespace {

std::vector<algo::ObjectiveRewards> objective_rewards(const config::Config& config, const rewards::RewardMatrix& m) {
  std::vector<algo::ObjectiveRewards> out;
  for (std::size_t k = 0; k < m.objectives.size(); ++k) {
    const double weight = config.rewards.objectives.at(m.objectives[k]).weight;
    out.push_back({m.objectives[k], weight, m.score[k], m.valid[k]});
  }
  return out;
}

// b-CapScore of the batch from the objectives' global raw means (before the length mask).
std::optional<double> batch_b_capscore(const config::Config& config, const algo::AdvantageStats& stats) {
  const auto roles = rewards::b_capscore_roles(config.rewards);
  if (!roles) return std::nullopt;
  std::map<std::string, double> mean;
  for (const algo::ObjectiveStats& o : stats.objectives) mean[o.name] = o.raw_mean;
  return rewards::b_capscore(mean[roles->precision], mean[roles->recall], mean[roles->linguistic]);
}

}  // namespace

RewardOutcome reward_phase(const config::Config& config, const rewards::RewardMatrix& scores, double scoring_seconds,
                           const Rollout& rollout, ReferenceLengths& reference_lengths, dist::Communicator& comm) {
  const auto t_scored = std::chrono::steady_clock::now();
  RewardOutcome out;
  out.raw = objective_rewards(config, scores);
  out.objective_seconds = scores.seconds;
  out.scoring_seconds = scoring_seconds;

  std::vector<algo::SampleLength> lengths;
  for (const sampling::Sample& s : rollout.samples) {
    const data::Record& record = *rollout.items.at(static_cast<std::size_t>(s.request)).record;
    lengths.push_back({caption_tokens(s), reference_lengths.of(record)});
  }
  out.advantage = algo::advantages_from_rewards(out.raw, lengths, rollout.group_sizes, config.rewards.length_mask,
                                                algo::AdvantageOptions::from(config.algo), comm);
  out.b_capscore = batch_b_capscore(config, out.advantage.stats);
  const auto t_end = std::chrono::steady_clock::now();
  out.advantage_seconds = std::chrono::duration<double>(t_end - t_scored).count();
  out.seconds = out.scoring_seconds + out.advantage_seconds;
  return out;
}

}  // namespace balcap::train
