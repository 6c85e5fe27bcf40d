#pragma once
// Held-out evaluation (`balcap eval`): caption every record of an eval JSONL with the policy
// (greedy by default, or K sampled captions per image), score the captions with the configured
// objectives (rewards.objectives: the same scorers the RL reward uses), and summarise:
//   <objective>   mean of the valid raw scores of that objective, in [0, 1]
//   b_capscore    the headline: BalCapRL's b-CapScore, the harmonic mean of the precision, recall
//                 and linguistic means (rewards/b_capscore.h); null when the config lacks one of
//                 the three. Each sample also gets its own b-CapScore from its three scores.
//   balanced      sum_k w_k * mean_k / sum_k w_k  (w_k = rewards.objectives.<k>.weight): the
//                 weighted arithmetic mean of the objective means (a second column)
//   length_ratio  mean caption tokens / mean reference tokens (stop token excluded; a record's
//                 reference length is the mean token length of its references)
// The length mask is NOT applied: evaluation reports raw scores.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <c10/core/Device.h>

#include "config/config.h"
#include "data/record.h"

namespace balcap::train {

struct EvalOptions {
  std::filesystem::path model;  // empty = model.path of the config
  std::filesystem::path data;   // empty = data.eval of the config
  bool greedy = true;           // false: `samples` captions per image at sampling.* settings
  std::int64_t samples = 1;
  std::int64_t batch_images = 8;  // images per sampler call (bounds memory)
};

struct EvalSample {
  std::string id;
  std::int64_t member = 0;
  std::string caption;
  std::int64_t tokens = 0;                                // caption tokens, stop token excluded
  double reference_tokens = 0;                            // mean reference tokens of the record
  std::map<std::string, std::optional<double>> scores;    // nullopt = the objective could not score it
  std::optional<double> b_capscore;                       // nullopt: no roles, or one of its three scores invalid
};

struct EvalReport {
  std::vector<std::string> objectives;   // in the order of rewards.objectives
  std::map<std::string, double> mean;    // per objective, over valid scores (0 when none valid)
  std::optional<double> b_capscore;      // harmonic mean of the three roles' means (nullopt: no roles)
  double balanced = 0;
  double length_ratio = 0;
  double caption_tokens_mean = 0;
  double reference_tokens_mean = 0;
  std::vector<EvalSample> samples;
};

EvalReport evaluate(const config::Config& config, const EvalOptions& options);

// Scores report.samples (records[i] = the record of samples[i]) with rewards.objectives, fills
// each sample's scores and the summary (summarise). Judges load on `device` when local.
void score_samples(const config::Config& config, const std::vector<const data::Record*>& records, at::Device device,
                   EvalReport& report);

// The summary numbers (objective means, balanced, lengths) from the samples' scores and lengths.
void summarise(const config::Config& config, EvalReport& report);

// {"correctness":..,...,"balanced":..,"length_ratio":..,"caption_tokens_mean":..,
//  "reference_tokens_mean":..,"images":..,"samples":[{"id","member","caption","tokens","scores"}]}
nlohmann::json to_json(const EvalReport& report);

}  // namespace balcap::train
