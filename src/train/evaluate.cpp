// Held-out evaluation; see src/train/evaluate.h.
#include "train/evaluate.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "models/load_policy.h"
#include "rewards/b_capscore.h"
#include "rewards/build_objectives.h"
#include "rewards/score_captions.h"
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
    out.push_back({record->id, s.member, s.text, caption_tokens(s), reference_lengths.of(*record), {}});
    records.push_back(record);
    all.push_back(s);
  }
}

// The run's and each sample's b-CapScore (rewards/b_capscore.h), when the config has the three roles.
void add_b_capscore(const config::Config& config, EvalReport& report) {
  const auto roles = rewards::b_capscore_roles(config.rewards);
  report.b_capscore = std::nullopt;
  if (!roles) return;
  report.b_capscore =
      rewards::b_capscore(report.mean[roles->precision], report.mean[roles->recall], report.mean[roles->linguistic]);
  for (EvalSample& s : report.samples) {
    const auto p = s.scores[roles->precision], r = s.scores[roles->recall], l = s.scores[roles->linguistic];
    s.b_capscore = p && r && l ? std::optional<double>(rewards::b_capscore(*p, *r, *l)) : std::nullopt;
  }
}

}  // namespace

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
  add_b_capscore(config, report);
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

void score_samples(const config::Config& config, const std::vector<const data::Record*>& records, at::Device device,
                   EvalReport& report) {
  BALCAP_CHECK(records.size() == report.samples.size(), "eval: {} records for {} captions (internal).",
               records.size(), report.samples.size());
  // One call per objective over all captions (a judge batches them).
  const auto objectives = rewards::build_objectives(config.rewards, device);
  std::vector<rewards::ScoredCaption> scored;
  for (std::size_t i = 0; i < report.samples.size(); ++i) {
    scored.push_back({records[i], report.samples[i].caption, report.samples[i].tokens});
  }
  const rewards::RewardMatrix matrix = rewards::score_captions(objectives, scored);
  report.objectives = matrix.objectives;
  for (std::size_t k = 0; k < matrix.objectives.size(); ++k) {
    for (std::size_t i = 0; i < report.samples.size(); ++i) {
      report.samples[i].scores[matrix.objectives[k]] =
          matrix.valid[k][i] ? std::optional<double>(matrix.score[k][i]) : std::nullopt;
    }
  }
  summarise(config, report);
}

EvalReport evaluate(const config::Config& config, const EvalOptions& options) {
  BALCAP_CHECK(options.greedy || options.samples >= 1,
               "eval --samples {} must be at least 1. HINT: use --greedy for one deterministic caption per image.",
               options.samples);
  const fs::path model_dir = options.model.empty() ? fs::path(config.model.path) : options.model;
  const fs::path data_path = options.data.empty() ? fs::path(config.data.eval) : options.data;
  BALCAP_CHECK(!data_path.empty(),
               "no evaluation data: data.eval is empty and --data was not given. HINT: pass --data EVAL.jsonl "
               "(e.g. `balcap data synth --split-eval M` writes eval.jsonl).");
  EvalModel m = load_eval_model(config, model_dir);
  const data::Dataset dataset = data::load_dataset(data_path, config.data);
  data::RecordImageDecoder images(data::parse_on_bad_record(config.data.on_bad_record));
  const RolloutInputs in{&config, m.policy.get(), m.tokenizer.get(), m.processor.get(), &dataset, &images, nullptr};
  const sampling::SamplingParams params = eval_params(config, *m.policy, options);
  ReferenceLengths reference_lengths(*m.tokenizer);

  EvalReport report;
  std::vector<const data::Record*> records;
  std::vector<sampling::Sample> all;
  const auto total = static_cast<std::int64_t>(dataset.records.size());
  const std::int64_t chunk = std::max<std::int64_t>(options.batch_images, 1);
  for (std::int64_t begin = 0; begin < total; begin += chunk) {
    std::vector<std::int64_t> indices;
    for (std::int64_t i = begin; i < std::min(total, begin + chunk); ++i) indices.push_back(i);
    const std::vector<PromptedRecord> items = build_prompts(in, indices, nullptr);
    if (!items.empty()) caption_chunk(config, m, items, params, reference_lengths, report.samples, records, all);
  }
  BALCAP_CHECK(!report.samples.empty(), "eval: no image of {} could be decoded. HINT: check the records' image paths.",
               data_path.string());

  score_samples(config, records, m.policy->device(), report);
  spdlog::info("eval {}: {} captions of {} images, b-CapScore {}, balanced (arithmetic) {:.4f}, length ratio {:.3f}",
               data_path.string(), report.samples.size(), dataset.records.size(),
               report.b_capscore ? fmt::format("{:.4f}", *report.b_capscore) : "n/a", report.balanced,
               report.length_ratio);
  return report;
}

nlohmann::json to_json(const EvalReport& report) {
  nlohmann::json j = nlohmann::json::object();
  for (const std::string& name : report.objectives) j[name] = report.mean.at(name);
  j["b_capscore"] = report.b_capscore ? nlohmann::json(*report.b_capscore) : nlohmann::json(nullptr);
  j["balanced"] = report.balanced;
  j["length_ratio"] = report.length_ratio;
  j["caption_tokens_mean"] = report.caption_tokens_mean;
  j["reference_tokens_mean"] = report.reference_tokens_mean;
  nlohmann::json samples = nlohmann::json::array();
  for (const EvalSample& s : report.samples) {
    nlohmann::json scores = nlohmann::json::object();
    for (const auto& [name, value] : s.scores) scores[name] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
    samples.push_back({{"id", s.id}, {"member", s.member}, {"caption", s.caption}, {"tokens", s.tokens},
                       {"reference_tokens", s.reference_tokens}, {"scores", scores},
                       {"b_capscore", s.b_capscore ? nlohmann::json(*s.b_capscore) : nlohmann::json(nullptr)}});
  }
  j["samples"] = samples;
  return j;
}

}  // namespace balcap::train
