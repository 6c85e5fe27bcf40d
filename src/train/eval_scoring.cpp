// Scoring an evaluation's captions (train::score_samples, src/train/evaluate.h): rewards.objectives
// on every caption in chunks with progress, and QA accuracy for the scorecard.
#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "rewards/build_objectives.h"
#include "rewards/score_captions.h"
#include "train/evaluate.h"
#include "train/progress.h"

namespace balcap::train {

namespace {

// The name of the objective eval adds for QA accuracy when the config has none.
std::string extra_qa_name(const config::RewardsConfig& rewards) {
  return rewards.objectives.count("qa_accuracy") ? "eval_qa_accuracy" : "qa_accuracy";
}

bool any_questions(const std::vector<const data::Record*>& records) {
  return std::any_of(records.begin(), records.end(), [](const data::Record* r) { return !r->qa.empty(); });
}

// The judge that answers QA for the scorecard: the precision objective's judge, else the first
// objective's judge (by name) that can answer multiple-choice questions (a lexical one cannot).
std::string qa_judge(const config::RewardsConfig& rewards) {
  std::vector<std::string> candidates;
  for (const auto& [name, o] : rewards.objectives) {
    if (o.scorer == "claim_precision")
      candidates.insert(candidates.begin(), o.judge);
    else
      candidates.push_back(o.judge);
  }
  for (const std::string& judge : candidates) {
    const auto it = rewards.judges.find(judge);
    if (it != rewards.judges.end() && it->second.kind != "lexical" && !it->second.kind.empty()) return judge;
  }
  return "";
}

// What is scored: rewards.objectives, plus, when QA is wanted, records carry questions and no
// objective scores them, one qa_accuracy objective on qa_judge (scored for the scorecard only).
struct ScoringPlan {
  config::RewardsConfig rewards;
  std::string qa_objective;  // the objective whose scores are the QA accuracy ("" = none)
  bool qa_extra = false;     // qa_objective was added here (not a rewards.objectives entry)
};

ScoringPlan scoring_plan(const config::RewardsConfig& rewards, const std::vector<const data::Record*>& records,
                         bool qa) {
  ScoringPlan plan{rewards, "", false};
  for (const auto& [name, o] : rewards.objectives) {
    if (o.scorer == "qa_accuracy" && plan.qa_objective.empty()) plan.qa_objective = name;
  }
  if (!plan.qa_objective.empty() || !qa || !any_questions(records)) return plan;
  const std::string judge = qa_judge(rewards);
  if (judge.empty()) {
    spdlog::info(
        "eval: the records carry questions but no judge of rewards.objectives can answer them (a lexical "
        "judge cannot): QA accuracy n/a. HINT: add `rewards.objectives.qa: {{scorer: qa_accuracy, judge: "
        "NAME}}` with a local, remote or scene judge.");
    return plan;
  }
  config::ObjectiveConfig o;
  o.scorer = "qa_accuracy";
  o.judge = judge;
  plan.qa_objective = extra_qa_name(rewards);
  plan.qa_extra = true;
  plan.rewards.objectives[plan.qa_objective] = o;
  spdlog::info(
      "eval: QA accuracy from the records' questions, answered by judge '{}' from each caption "
      "(reported only, not in `balanced`)",
      judge);
  return plan;
}

// score_captions on `chunk` captions at a time, one progress count per caption.
rewards::RewardMatrix score_in_chunks(const std::vector<std::unique_ptr<rewards::Objective>>& objectives,
                                      const std::vector<rewards::ScoredCaption>& scored, std::int64_t chunk,
                                      const std::string& progress_mode) {
  const auto n = static_cast<std::int64_t>(scored.size());
  Progress progress(n, 0, progress_mode, 10.0, {"eval scoring", "caption"});
  const auto t0 = std::chrono::steady_clock::now();
  rewards::RewardMatrix all;
  for (std::int64_t begin = 0; begin < n; begin += std::max<std::int64_t>(chunk, 1)) {
    const std::int64_t end = std::min(n, begin + std::max<std::int64_t>(chunk, 1));
    const rewards::RewardMatrix part = rewards::score_captions(
        objectives, std::vector<rewards::ScoredCaption>(scored.begin() + begin, scored.begin() + end));
    if (all.objectives.empty()) {
      all.objectives = part.objectives;
      all.score.resize(part.objectives.size());
      all.valid.resize(part.objectives.size());
      all.seconds.assign(part.objectives.size(), 0.0);
    }
    for (std::size_t k = 0; k < part.objectives.size(); ++k) {
      all.score[k].insert(all.score[k].end(), part.score[k].begin(), part.score[k].end());
      all.valid[k].insert(all.valid[k].end(), part.valid[k].begin(), part.valid[k].end());
      all.seconds[k] += part.seconds[k];
    }
    progress.update(end, fmt::format("{} objectives", part.objectives.size()));
  }
  progress.finish();
  if (progress.uses_bar()) {  // the bar is on the terminal only: the log gets the total
    spdlog::info("eval scoring: {} captions x {} objectives in {}", n, all.objectives.size(),
                 format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  }
  return all;
}

}  // namespace

void score_samples(const config::Config& config, const std::vector<const data::Record*>& records, at::Device device,
                   EvalReport& report, const ScoreOptions& options) {
  BALCAP_CHECK(records.size() == report.samples.size(), "eval: {} records for {} captions (internal).", records.size(),
               report.samples.size());
  const ScoringPlan plan = scoring_plan(config.rewards, records, options.qa);
  const auto objectives = rewards::build_objectives(plan.rewards, device);  // each judge created once
  std::vector<rewards::ScoredCaption> scored;
  for (std::size_t i = 0; i < report.samples.size(); ++i) {
    scored.push_back({records[i], report.samples[i].caption, report.samples[i].tokens});
  }
  const rewards::RewardMatrix matrix = score_in_chunks(objectives, scored, options.chunk, config.logging.progress);
  report.objectives.clear();
  for (EvalSample& s : report.samples) s.scores.clear(), s.qa = std::nullopt;
  for (std::size_t k = 0; k < matrix.objectives.size(); ++k) {
    const std::string& name = matrix.objectives[k];
    const bool is_qa = name == plan.qa_objective, extra = is_qa && plan.qa_extra;
    if (!extra) report.objectives.push_back(name);
    for (std::size_t i = 0; i < report.samples.size(); ++i) {
      const auto value = matrix.valid[k][i] ? std::optional<double>(matrix.score[k][i]) : std::nullopt;
      if (!extra) report.samples[i].scores[name] = value;
      if (is_qa) report.samples[i].qa = value;
    }
  }
  summarise(config, report);
}

}  // namespace balcap::train
