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
//   qa_accuracy   share of the records' multiple-choice questions a judge answers right from the
//                 caption alone (the qa_accuracy scorer): the config's qa_accuracy objective, or,
//                 when the config has none and records carry `qa`, one scored for the report only
//                 on the judge of the precision objective (never on a lexical judge; not in
//                 `balanced`). nullopt when no caption's record has questions.
// The length mask is NOT applied: evaluation reports raw scores. The scorecard (eval_scorecard.h)
// is the table of these numbers; exports (eval_export.h) write the captions for benchmark tools.
// Captioning and scoring report progress (counts, rate, ETA) on stderr (logging.progress).
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
#include "train/eval_export.h"

namespace balcap::train {

struct EvalOptions {
  std::filesystem::path model;  // empty = model.path of the config
  std::filesystem::path data;   // empty = data.eval of the config; a JSONL, or a folder of images (eval_data.h)
  bool greedy = true;           // false: `samples` captions per image at sampling.* settings
  std::int64_t samples = 1;
  std::int64_t batch_images = 8;  // images per sampler call (bounds memory)
  bool score = true;              // false: captions only (no judge runs; scores and b-CapScore null)
  bool qa = true;                 // score QA accuracy when records carry `qa` (see qa_accuracy above)
  std::vector<ExportFormat> exports;       // benchmark files to write (eval_export.h)
  std::filesystem::path export_dir = ".";  // where they go
};

// How score_samples runs: the extra QA objective, and captions per scoring call (progress counts).
struct ScoreOptions {
  bool qa = true;
  std::int64_t chunk = 64;
};

struct EvalSample {
  std::string id;
  std::int64_t member = 0;
  std::string caption;
  std::int64_t tokens = 0;                                // caption tokens, stop token excluded
  double reference_tokens = 0;                            // mean reference tokens of the record
  std::map<std::string, std::optional<double>> scores;    // nullopt = the objective could not score it
  std::optional<double> b_capscore;                       // nullopt: no roles, or one of its three scores invalid
  std::optional<double> qa;                               // QA accuracy of this caption (nullopt: not scored)
  std::string image;                                      // the record's image path
};

// The objectives that play precision, recall and linguistic quality: the one objective scored by
// claim_precision, claim_recall, judge_rating each (empty when the config has none or several).
struct ScorecardRoles {
  std::string precision, recall, linguistic;
};
ScorecardRoles scorecard_roles(const config::RewardsConfig& rewards);

struct EvalReport {
  std::vector<std::string> objectives;   // in the order of rewards.objectives
  ScorecardRoles roles;                  // set by summarise
  std::map<std::string, double> mean;    // per objective, over valid scores (0 when none valid)
  std::optional<double> b_capscore;      // harmonic mean of the three roles' means (nullopt: no roles)
  double balanced = 0;
  double length_ratio = 0;
  double caption_tokens_mean = 0;
  double reference_tokens_mean = 0;
  std::optional<double> qa_accuracy;     // mean of the samples' valid QA scores (nullopt: none)
  std::int64_t images = 0;               // records captioned
  std::string model, data;               // what was evaluated (paths, for the report and --compare)
  bool greedy = true;
  std::vector<EvalSample> samples;
  std::vector<std::filesystem::path> exports;  // files written by EvalOptions::exports
};

EvalReport evaluate(const config::Config& config, const EvalOptions& options);

// Scores report.samples (records[i] = the record of samples[i]) with rewards.objectives, fills
// each sample's scores, its QA accuracy (with options.qa, see qa_accuracy above) and the summary
// (summarise). Judges load on `device` when local. Captions go to the objectives in chunks of
// options.chunk (a judge batches each chunk), with a progress line per chunk.
void score_samples(const config::Config& config, const std::vector<const data::Record*>& records, at::Device device,
                   EvalReport& report, const ScoreOptions& options = {});

// The summary numbers (objective means, balanced, lengths) from the samples' scores and lengths.
void summarise(const config::Config& config, EvalReport& report);

// {"correctness":..,...,"b_capscore":..,"balanced":..,"length_ratio":..,"caption_tokens_mean":..,
//  "reference_tokens_mean":..,"qa_accuracy":..,"images":..,"captions":..,"model":..,"data":..,"greedy":..,
//  "scorecard":{...} (eval_scorecard.h), "exports":[paths],
//  "samples":[{"id","member","image","caption","tokens","reference_tokens","scores","b_capscore","qa"}]}
nlohmann::json to_json(const EvalReport& report);

}  // namespace balcap::train
