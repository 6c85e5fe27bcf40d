// Objectives from the config (src/rewards/build_objectives.h).
#include "rewards/build_objectives.h"

#include <map>

#include "core/error.h"
#include "rewards/claim_precision.h"
#include "rewards/claim_recall.h"
#include "rewards/judge_call_log.h"
#include "rewards/judge_checks.h"
#include "rewards/judge_factories.h"
#include "rewards/judge_rating.h"
#include "rewards/lexical_objectives.h"
#include "rewards/qa_accuracy.h"

namespace balcap::rewards {
namespace {

// What decides a judge's answers (not how it is reached or batched): call-log lines of another
// judge configuration under the same name are never replayed for this one.
std::string judge_identity(const config::JudgeConfig& c) {
  const std::string text = c.kind == "local"
                               ? fmt::format("local\x1f{}\x1f{}", c.model, c.dtype)
                               : fmt::format("remote\x1f{}\x1f{}\x1f{}\x1f{}", c.url, c.api, c.model_name, c.vision);
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

// Model judges (local, remote), created on first use and shared; their answers checked
// (judge_checks.h) and, with rewards.log_judge_calls, logged and replayed (judge_call_log.h).
class JudgePool {
 public:
  JudgePool(const config::RewardsConfig& rewards, at::Device device) : rewards_(rewards), device_(device) {}

  std::shared_ptr<Judge> get(const std::string& name, const config::JudgeConfig& config) {
    auto it = judges_.find(name);
    if (it != judges_.end()) return it->second;
    const bool local = config.kind == "local";
    std::shared_ptr<Judge> judge = local ? std::shared_ptr<Judge>(make_local_judge(name, config, device_))
                                         : std::shared_ptr<Judge>(make_remote_judge(name, config));
    judge = with_answer_checks(judge, local ? config.model : config.url);
    if (!rewards_.log_judge_calls.empty()) {
      if (!log_) log_ = std::make_shared<JudgeCallLog>(rewards_.log_judge_calls);  // one file, loaded once
      judge = with_call_log(judge, log_, judge_identity(config));
    }
    judges_[name] = judge;
    return judge;
  }

 private:
  const config::RewardsConfig& rewards_;
  at::Device device_;
  std::map<std::string, std::shared_ptr<Judge>> judges_;
  std::shared_ptr<JudgeCallLog> log_;
};

std::unique_ptr<Objective> judge_scorer(const std::string& name, const config::ObjectiveConfig& objective,
                                        std::shared_ptr<Judge> judge, const config::RewardsConfig& rewards,
                                        const config::JudgeConfig& judge_config) {
  ScorerSettings settings{rewards.prompts, rewards.on_judge_failure == "invalid", judge_config.max_new_tokens,
                          pointability_on(rewards.pointability, objective.evidence)};
  const std::string& scorer = objective.scorer;
  if (scorer == "claim_precision") {
    return std::make_unique<ClaimPrecision>(name, std::move(judge), objective.evidence, settings);
  }
  if (scorer == "claim_recall") return std::make_unique<ClaimRecall>(name, std::move(judge), settings);
  if (scorer == "qa_accuracy") return std::make_unique<QaAccuracy>(name, std::move(judge), settings);
  if (scorer == "judge_rating") {
    return std::make_unique<JudgeRating>(name, std::move(judge), settings, rewards.repetition_guard);
  }
  fail(
      "rewards.objectives.{}.scorer = '{}' is unknown\nHINT: claim_precision, claim_recall, qa_accuracy or "
      "judge_rating",
      name, scorer);
}

}  // namespace

std::vector<std::unique_ptr<Objective>> build_objectives(const config::RewardsConfig& rewards,
                                                         at::Device policy_device) {
  JudgePool pool(rewards, policy_device);
  std::vector<std::unique_ptr<Objective>> objectives;
  for (const auto& [name, objective] : rewards.objectives) {
    auto j = rewards.judges.find(objective.judge);
    BALCAP_CHECK(j != rewards.judges.end(),
                 "rewards.objectives.{}.judge = '{}' names no judge in rewards.judges\nHINT: add it under "
                 "rewards.judges or fix the name",
                 name, objective.judge);
    const config::JudgeConfig& judge = j->second;
    if (judge.kind == "lexical") {
      BALCAP_CHECK(objective.scorer != "claim_precision" || objective.evidence != "image",
                   "rewards.objectives.{}: the lexical judge cannot look at images (evidence: image)\n"
                   "HINT: use evidence: reference with the lexical judge",
                   name);
      objectives.push_back(make_lexical_objective(name, objective.scorer));
    } else if (judge.kind == "scene") {
      objectives.push_back(make_scene_objective(name, objective, rewards));
    } else if (judge.kind == "local" || judge.kind == "remote") {
      objectives.push_back(judge_scorer(name, objective, pool.get(objective.judge, judge), rewards, judge));
    } else {
      fail("rewards.judges.{}.kind = '{}' is unknown\nHINT: local, remote, lexical or scene", objective.judge,
           judge.kind);
    }
  }
  return objectives;
}

std::int64_t replayed_judge_requests() { return replayed_judge_requests_total(); }

}  // namespace balcap::rewards
