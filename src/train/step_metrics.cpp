// Metrics rows of an RL step; see src/train/step_metrics.h.
#include "train/step_metrics.h"

#include <algorithm>
#include <cmath>

namespace balcap::train {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

LengthStats length_stats(const Rollout& rollout, ReferenceLengths& reference_lengths, dist::Communicator& comm) {
  std::vector<double> mine;  // lengths of this rank's captions
  std::vector<double> sums{0, 0};  // truncated captions, reference lengths
  for (const auto& sample : rollout.samples) {
    mine.push_back(static_cast<double>(caption_tokens(sample)));
    sums[0] += sample.finish_reason == "length" ? 1.0 : 0.0;
    sums[1] += reference_lengths.of(*rollout.items.at(static_cast<std::size_t>(sample.request)).record);
  }
  const std::vector<double> lengths = comm.world_size() == 1 ? mine : dist::all_gather(comm, mine);
  comm.all_reduce_sum(sums);
  LengthStats s;
  if (lengths.empty()) return s;
  const auto n = static_cast<double>(lengths.size());
  for (double l : lengths) s.mean += l / n;
  s.p90 = quantile(lengths, 0.9);
  s.truncated_share = sums[0] / n;
  s.reference_mean = sums[1] / n;
  return s;
}

StepCounts step_counts(const Rollout& rollout, const UpdateOutcome& update, dist::Communicator& comm) {
  std::vector<double> v{static_cast<double>(rollout.items.size()), static_cast<double>(rollout.images_skipped),
                        static_cast<double>(rollout.samples.size()), static_cast<double>(rollout.generated_tokens),
                        static_cast<double>(update.tokens), static_cast<double>(update.positions),
                        static_cast<double>(update.padding)};
  comm.all_reduce_sum(v);
  auto i = [&](std::size_t k) { return static_cast<std::int64_t>(v[k]); };
  return {i(0), i(1), i(2), i(3), i(4), i(5), i(6)};
}

namespace {

void add_rewards(nlohmann::json& row, const RewardOutcome& r) {
  for (const algo::ObjectiveStats& o : r.advantage.stats.objectives) {
    const std::string p = "reward/" + o.name + "/";
    row[p + "mean"] = o.raw_mean;
    row[p + "std"] = o.raw_std;
    row[p + "valid_fraction"] = o.valid_fraction;
    row[p + "masked_fraction"] = o.masked_fraction;
  }
  if (r.b_capscore) row["reward/b_capscore"] = *r.b_capscore;
  const algo::AdvantageStats& a = r.advantage.stats;
  row["advantage/mean"] = a.mean;
  row["advantage/std"] = a.std;
  row["advantage/min"] = a.min;
  row["advantage/max"] = a.max;
}

void add_update(nlohmann::json& row, const UpdateOutcome& u, const StepCounts& c) {
  row["loss"] = u.loss;
  row["loss/pg"] = u.pg_loss;
  row["kl"] = u.kl;
  row["entropy"] = u.entropy;
  row["clip_frac"] = u.clip_frac;
  row["approx_kl"] = u.approx_kl;
  row["grad_norm"] = u.grad_norm;
  row["grad_norm_max"] = u.grad_norm_max;
  row["lr"] = u.lr;
  row["optimizer_steps"] = u.optimizer_steps;
  row["skipped_steps"] = u.skipped_steps;
  row["tokens/update"] = c.update_tokens;
  const auto forward = static_cast<double>(c.update_positions + c.update_padding);
  row["tokens/padding_share"] = forward > 0 ? static_cast<double>(c.update_padding) / forward : 0.0;
}

void add_times(nlohmann::json& row, const StepCounts& c, const StepTimes& t) {
  row["time/preprocess_s"] = t.preprocess;
  row["time/sample_s"] = t.sample;
  row["time/reward_s"] = t.reward;
  row["time/scoring_s"] = t.scoring;
  row["time/advantage_s"] = t.advantage;
  row["time/rollout_scoring_s"] = t.rollout_scoring;
  row["time/scoring_wait_s"] = t.scoring_wait;
  row["time/loss_s"] = t.update - t.optimizer;
  row["time/optimizer_s"] = t.optimizer;
  row["time/checkpoint_s"] = t.checkpoint;
  row["time/step_s"] = t.step;
  row["perf/rollout_tokens_per_s"] = t.sample > 0 ? static_cast<double>(c.rollout_tokens) / t.sample : 0.0;
  row["perf/update_tokens_per_s"] = t.update > 0 ? static_cast<double>(c.update_tokens) / t.update : 0.0;
  row["perf/scoring_captions_per_s"] = t.scoring > 0 ? static_cast<double>(c.captions) / t.scoring : 0.0;
  row["memory/host_peak_mib"] = t.host_peak_mib;
  if (t.device_peak_mib > 0) row["memory/device_peak_mib"] = t.device_peak_mib;
}

}  // namespace

nlohmann::json step_metrics(std::int64_t step, std::int64_t epoch, const StepCounts& counts, const RewardOutcome& rewards,
                            const UpdateOutcome& update, const LengthStats& lengths, const StepTimes& times) {
  nlohmann::json row = {{"step", step}, {"epoch", epoch}};
  row["images"] = counts.images;
  row["images_skipped"] = counts.images_skipped;
  row["captions"] = counts.captions;
  row["tokens/rollout"] = counts.rollout_tokens;
  row["caption/length_mean"] = lengths.mean;
  row["caption/length_p90"] = lengths.p90;
  row["caption/truncated_share"] = lengths.truncated_share;
  row["caption/reference_length_mean"] = lengths.reference_mean;
  add_rewards(row, rewards);
  add_update(row, update, counts);
  add_times(row, counts, times);
  return row;
}

nlohmann::json caption_samples(const Rollout& rollout, const RewardOutcome& rewards, std::int64_t count) {
  nlohmann::json out = nlohmann::json::array();
  const auto n = static_cast<std::int64_t>(rollout.samples.size());
  // Spread over the batch (one caption of each of the first images rather than one whole group).
  const std::int64_t stride = count > 0 ? std::max<std::int64_t>(1, n / count) : 1;
  for (std::int64_t k = 0; k < std::min(count, n); ++k) {
    const std::int64_t i = k * stride;
    const auto& s = rollout.samples[static_cast<std::size_t>(i)];
    nlohmann::json scores = nlohmann::json::object();
    for (const auto& obj : rewards.raw) {
      scores[obj.name] = obj.valid[static_cast<std::size_t>(i)] ? nlohmann::json(obj.score[static_cast<std::size_t>(i)])
                                                                : nlohmann::json(nullptr);
    }
    out.push_back({{"id", rollout.items.at(static_cast<std::size_t>(s.request)).record->id},
                   {"member", s.member},
                   {"text", s.text},
                   {"tokens", caption_tokens(s)},
                   {"finish_reason", s.finish_reason},
                   {"scores", scores},
                   {"advantage", rewards.advantage.advantages.at(static_cast<std::size_t>(i))}});
  }
  return out;
}

}  // namespace balcap::train
