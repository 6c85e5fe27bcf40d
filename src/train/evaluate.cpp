// Held-out evaluation; see src/train/evaluate.h.
#include "train/evaluate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "models/load_policy.h"
#include "rewards/b_capscore.h"
#include "train/eval_data.h"
#include "train/eval_scorecard.h"
#include "train/progress.h"
#include "train/reward_phase.h"
#include "train/rollout.h"
#include "train/session.h"

namespace balcap::train {

namespace fs = std::filesystem;

namespace {

// The model the eval loads: its policy, tokenizer and processor.
struct EvalModel {
  std::unique_ptr<models::Policy> policy;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::unique_ptr<vision::ImageProcessor> processor;
};

EvalModel load_eval_model(const config::Config& config, const fs::path& dir) {
  const at::Device device = resolve_device(config.train.device);
  EvalModel m;
  m.policy = models::load_policy(dir, resolve_dtype(config.train.dtype, device), device);
  m.policy->module().eval();
  m.tokenizer = text::load_tokenizer(config.model.tokenizer.empty() ? dir : fs::path(config.model.tokenizer));
  m.processor = vision::load_image_processor(dir);
  return m;
}

sampling::SamplingParams eval_params(const config::Config& config, const models::Policy& policy, const EvalOptions& options) {
  sampling::SamplingParams p =
      sampling::sampling_params_from(config.sampling, policy.generation_config(), options.greedy ? 1 : options.samples);
  p.greedy = options.greedy;
  return p;
}

// Captions of one chunk of prompted records -> EvalSamples (scores filled later).
void caption_chunk(const config::Config& config, EvalModel& m, const std::vector<PromptedRecord>& items,
                   const sampling::SamplingParams& params, ReferenceLengths& reference_lengths,
                   std::vector<EvalSample>& out, std::vector<const data::Record*>& records,
                   std::vector<sampling::Sample>& all) {
  std::vector<sampling::SampleRequest> requests;
  for (const PromptedRecord& item : items) requests.push_back({item.prompt, item.record->index});
  std::vector<sampling::Sample> samples;
  {
    at::NoGradGuard no_grad;
    samples = sampling::sample(*m.policy, *m.tokenizer, requests, params,
                               {static_cast<std::uint64_t>(config.train.seed), 0, 0});
  }
  for (const sampling::Sample& s : samples) {
    const data::Record* record = items.at(static_cast<std::size_t>(s.request)).record;
    EvalSample sample{record->id, s.member, s.text, caption_tokens(s), reference_lengths.of(*record), {}};
    sample.image = record->image.string();
    out.push_back(std::move(sample));
    records.push_back(record);
    all.push_back(s);
  }
}

// The run's and each sample's b-CapScore (rewards/b_capscore.h), when the config has the three roles.
void add_b_capscore(const config::Config& config, EvalReport& report) {
  const auto roles = rewards::b_capscore_roles(config.rewards);
  report.b_capscore = std::nullopt;
  if (!roles || report.objectives.empty()) return;  // no roles, or nothing scored (eval --no-score)
  report.b_capscore =
      rewards::b_capscore(report.mean[roles->precision], report.mean[roles->recall], report.mean[roles->linguistic]);
  for (EvalSample& s : report.samples) {
    const auto p = s.scores[roles->precision], r = s.scores[roles->recall], l = s.scores[roles->linguistic];
    s.b_capscore = p && r && l ? std::optional<double>(rewards::b_capscore(*p, *r, *l)) : std::nullopt;
  }
}

// Mean caption / reference tokens and their ratio.
void add_lengths(EvalReport& report) {
  double tokens = 0, refs = 0;
  for (const EvalSample& s : report.samples) {
    tokens += static_cast<double>(s.tokens);
    refs += s.reference_tokens;
  }
  const auto n = static_cast<double>(std::max<std::size_t>(report.samples.size(), 1));
  report.caption_tokens_mean = tokens / n;
  report.reference_tokens_mean = refs / n;
  report.length_ratio = refs > 0 ? tokens / refs : 0.0;
}

std::optional<double> qa_mean(const std::vector<EvalSample>& samples) {
  double sum = 0;
  std::int64_t n = 0;
  for (const EvalSample& s : samples) {
    if (s.qa) sum += *s.qa, ++n;
  }
  return n > 0 ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt;
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// Captions every record, `batch_images` images per sampler call, with a progress line per call.
void caption_dataset(const config::Config& config, EvalModel& m, const data::Dataset& dataset,
                     const EvalOptions& options, EvalReport& report, std::vector<const data::Record*>& records) {
  data::RecordImageDecoder images(data::parse_on_bad_record(config.data.on_bad_record));
  const RolloutInputs in{&config, m.policy.get(), m.tokenizer.get(), m.processor.get(), &dataset, &images, nullptr};
  const sampling::SamplingParams params = eval_params(config, *m.policy, options);
  ReferenceLengths reference_lengths(*m.tokenizer);
  std::vector<sampling::Sample> all;
  const auto total = static_cast<std::int64_t>(dataset.records.size());
  const std::int64_t chunk = std::max<std::int64_t>(options.batch_images, 1);
  Progress progress(total, 0, config.logging.progress, 10.0, {"eval captioning", "image"});
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t begin = 0; begin < total; begin += chunk) {
    std::vector<std::int64_t> indices;
    for (std::int64_t i = begin; i < std::min(total, begin + chunk); ++i) indices.push_back(i);
    const std::vector<PromptedRecord> items = build_prompts(in, indices, nullptr);
    if (!items.empty()) caption_chunk(config, m, items, params, reference_lengths, report.samples, records, all);
    report.images += static_cast<std::int64_t>(items.size());
    progress.update(std::min(total, begin + chunk), fmt::format("{} captions", report.samples.size()));
  }
  progress.finish();
  if (progress.uses_bar()) {  // the bar is on the terminal only: the log gets the total
    spdlog::info("eval captioning: {} images, {} captions in {}", report.images, report.samples.size(),
                 format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  }
}

// Captions per scoring call: the captions of one sampler call (the judges batch them).
std::int64_t score_chunk(const EvalOptions& options) {
  const std::int64_t per_image = options.greedy ? 1 : std::max<std::int64_t>(options.samples, 1);
  return std::max<std::int64_t>(options.batch_images, 1) * per_image;
}

// The exports' checks (references, unique keys) on the records before any caption is made: a
// benchmark file that cannot be written fails in seconds, not after the captioning.
void check_exports(const std::vector<ExportFormat>& formats, const data::Dataset& dataset) {
  std::vector<CaptionOfRecord> empty;
  for (const data::Record& r : dataset.records) empty.push_back({&r, 0, ""});
  const std::vector<ExportCaption> captions = export_captions(empty);
  for (ExportFormat f : formats) export_text(f, captions);
}

std::vector<ExportCaption> export_input(const EvalReport& report, const std::vector<const data::Record*>& records) {
  std::vector<CaptionOfRecord> captions;
  for (std::size_t i = 0; i < report.samples.size(); ++i) {
    captions.push_back({records[i], report.samples[i].member, report.samples[i].caption});
  }
  return export_captions(captions);
}

}  // namespace

ScorecardRoles scorecard_roles(const config::RewardsConfig& objectives) {
  ScorecardRoles roles;
  roles.precision = rewards::objective_with_scorer(objectives, "claim_precision");
  roles.recall = rewards::objective_with_scorer(objectives, "claim_recall");
  roles.linguistic = rewards::objective_with_scorer(objectives, "judge_rating");
  return roles;
}

void summarise(const config::Config& config, EvalReport& report) {
  double weighted = 0, weights = 0;
  for (const std::string& name : report.objectives) {
    double sum = 0;
    std::int64_t n = 0;
    for (const EvalSample& s : report.samples) {
      auto it = s.scores.find(name);
      if (it != s.scores.end() && it->second) {
        sum += *it->second;
        ++n;
      }
    }
    const double mean = n > 0 ? sum / static_cast<double>(n) : 0.0;
    report.mean[name] = mean;
    const double w = config.rewards.objectives.at(name).weight;
    weighted += w * mean;
    weights += w;
  }
  report.balanced = weights > 0 ? weighted / weights : 0.0;
  report.roles = scorecard_roles(config.rewards);
  add_b_capscore(config, report);
  add_lengths(report);
  report.qa_accuracy = qa_mean(report.samples);
}

EvalReport evaluate(const config::Config& config, const EvalOptions& options) {
  BALCAP_CHECK(options.greedy || options.samples >= 1,
               "eval --samples {} must be at least 1. HINT: use --greedy for one deterministic caption per image.",
               options.samples);
  const fs::path model_dir = options.model.empty() ? fs::path(config.model.path) : options.model;
  const fs::path data_path = options.data.empty() ? fs::path(config.data.eval) : options.data;
  BALCAP_CHECK(!data_path.empty(),
               "no evaluation data: data.eval is empty and --data was not given. HINT: pass --data EVAL.jsonl "
               "(e.g. `balcap data synth --split-eval M` writes eval.jsonl) or a folder of images.");
  const data::Dataset dataset = load_eval_dataset(data_path, config.data);
  check_exports(options.exports, dataset);
  EvalModel m = load_eval_model(config, model_dir);
  EvalReport report;
  report.model = model_dir.string();
  report.data = data_path.string();
  report.greedy = options.greedy;
  std::vector<const data::Record*> records;
  caption_dataset(config, m, dataset, options, report, records);
  BALCAP_CHECK(!report.samples.empty(), "eval: no image of {} could be decoded. HINT: check the records' image paths.",
               data_path.string());
  if (options.score) {
    score_samples(config, records, m.policy->device(), report, {options.qa, score_chunk(options)});
  } else {
    summarise(config, report);  // lengths only: nothing scored
  }
  if (!options.exports.empty()) {
    if (report.images < static_cast<std::int64_t>(dataset.records.size())) {
      spdlog::warn("eval: {} of {} images could not be decoded and have no caption in the exports: the benchmark's "
                   "tools will miss them. HINT: fix or replace those images (the warnings above name them).",
                   dataset.records.size() - report.images, dataset.records.size());
    }
    report.exports = write_exports(options.exports, export_input(report, records), options.export_dir);
  }
  spdlog::info("eval {}: {} captions of {} images, b-CapScore {}, balanced (arithmetic) {:.4f}, length ratio {:.3f}",
               data_path.string(), report.samples.size(), report.images,
               report.b_capscore ? fmt::format("{:.4f}", *report.b_capscore) : "n/a", report.balanced,
               report.length_ratio);
  return report;
}

nlohmann::json to_json(const EvalReport& report) {
  nlohmann::json j = nlohmann::json::object();
  for (const std::string& name : report.objectives) j[name] = report.mean.at(name);
  j["b_capscore"] = optional_json(report.b_capscore);
  j["balanced"] = report.balanced;
  j["length_ratio"] = report.length_ratio;
  j["caption_tokens_mean"] = report.caption_tokens_mean;
  j["reference_tokens_mean"] = report.reference_tokens_mean;
  j["qa_accuracy"] = optional_json(report.qa_accuracy);
  j["images"] = report.images;
  j["captions"] = report.samples.size();
  j["model"] = report.model;
  j["data"] = report.data;
  j["greedy"] = report.greedy;
  j["scorecard"] = to_json(make_scorecard(report));
  nlohmann::json exports = nlohmann::json::array();
  for (const fs::path& p : report.exports) exports.push_back(p.string());
  j["exports"] = exports;
  nlohmann::json samples = nlohmann::json::array();
  for (const EvalSample& s : report.samples) {
    nlohmann::json scores = nlohmann::json::object();
    for (const auto& [name, value] : s.scores) scores[name] = optional_json(value);
    samples.push_back({{"id", s.id}, {"member", s.member}, {"image", s.image}, {"caption", s.caption},
                       {"tokens", s.tokens}, {"reference_tokens", s.reference_tokens}, {"scores", scores},
                       {"b_capscore", optional_json(s.b_capscore)}, {"qa", optional_json(s.qa)}});
  }
  j["samples"] = samples;
  return j;
}

}  // namespace balcap::train
