// A failing judge never becomes a reward (issue 18: "never a silent zero"): the objectives built from
// the config, scoring through a real (scripted) judge server that is down, fails halfway through an
// objective, goes away mid-run or answers something that is not a log-probability. Under
// on_judge_failure: fail the step stops with a JudgeError naming the judge, its URL and a HINT;
// under invalid every caption the judge could not score is marked invalid (which the advantage
// leaves out of its group: algo's Advantage.InvalidScoresAreLeftOutOfTheGroupAndGetZero), never
// scored 0. The answer checks every model judge goes through refuse NaN, +inf, positive and
// all-impossible log-probabilities and answers of the wrong shape.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "rewards/build_objectives.h"
#include "rewards/claim_recall.h"
#include "rewards/judge_checks.h"
#include "rewards/judge_questions.h"
#include "rewards/score_captions.h"
#include "rewards_completions_server.h"
#include "rewards_table_judge.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;

// The three judge-backed BalCapRL objectives on remote judge `j` at `url`, plus `overlap`, a lexical
// objective that needs no judge.
config::RewardsConfig judged_by(const std::string& url, const std::string& on_failure) {
  config::RewardsConfig rewards;
  rewards.objectives.clear();
  for (const auto& [name, scorer] : std::vector<std::pair<std::string, std::string>>{
           {"correctness", "claim_precision"}, {"coverage", "claim_recall"}, {"linguistic", "judge_rating"}}) {
    config::ObjectiveConfig objective;
    objective.scorer = scorer;
    objective.judge = "j";
    rewards.objectives[name] = objective;
  }
  config::ObjectiveConfig overlap;
  overlap.scorer = "claim_recall";
  overlap.judge = "lexical";
  rewards.objectives["overlap"] = overlap;
  config::JudgeConfig j = test::quick_remote(url);
  j.max_retries = 1;
  rewards.judges = {{"j", j}, {"lexical", config::JudgeConfig::defaults_for("lexical")}};
  rewards.on_judge_failure = on_failure;
  return rewards;
}

struct Batch {
  data::Record record;
  std::vector<ScoredCaption> captions;
  explicit Batch(const std::vector<std::string>& texts) {
    record.id = "r1";
    record.references = {"A red car parked next to a tree."};
    for (const auto& t : texts) captions.push_back({&record, t, 6});
  }
};

std::string loopback(int port) { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }

// Every caption of every objective judged by `j`: valid or not, per the expectation.
void expect_judged_valid(const RewardMatrix& m, bool valid) {
  for (std::size_t k = 0; k < m.objectives.size(); ++k) {
    const bool judged = m.objectives[k] != "overlap";
    for (std::size_t i = 0; i < m.valid[k].size(); ++i) {
      EXPECT_EQ(m.valid[k][i], judged ? valid : true) << m.objectives[k] << " caption " << i;
    }
  }
}

TEST(JudgeFailures, AServerDownForTheWholeRunStopsTheStepNamingTheJudge) {
  const int port = test::refused_port();
  auto objectives = build_objectives(judged_by(loopback(port), "fail"), at::kCPU);
  try {
    score_captions(objectives, Batch({"A red car.", "A tree."}).captions);
    ADD_FAILURE() << "scored without a judge";
  } catch (const JudgeError& e) {
    const std::string msg = e.what();
    for (const std::string& part : {std::string("judge 'j'"), loopback(port), std::string("failed after 2 attempt(s)"),
                                    std::string("connection refused"), std::string("HINT")}) {
      EXPECT_NE(msg.find(part), std::string::npos) << part << " in: " << msg;
    }
  }
}

TEST(JudgeFailures, UnderInvalidAServerDownForTheWholeRunLeavesEveryJudgedCaptionOutNeverAtZero) {
  auto objectives = build_objectives(judged_by(loopback(test::refused_port()), "invalid"), at::kCPU);
  const RewardMatrix m = score_captions(objectives, Batch({"A red car.", "A tree.", "car car car"}).captions);
  ASSERT_EQ(m.objectives, (std::vector<std::string>{"correctness", "coverage", "linguistic", "overlap"}));
  expect_judged_valid(m, false);  // the lexical objective still scores: the step goes on
}

// The claims are split (generation answers) but every yes/no question fails: the captions are
// invalid, not "0 of n claims verified".
TEST(JudgeFailures, AJudgeFailingHalfwayThroughAnObjectiveLeavesNoPartialZeros) {
  balcap::test::RawServer server([&](balcap::test::RawConnection& c, int) {
    for (;;) {
      const json body = json::parse(c.read_request().body);
      if (body.value("echo", false)) {
        c.reply(503, R"({"error":{"message":"scoring backend down"}})", {}, true);
      } else {
        c.reply(200, test::completions_reply(body).dump(), {}, true);
      }
    }
  });
  auto objectives = build_objectives(judged_by(server.url(), "invalid"), at::kCPU);
  const RewardMatrix m = score_captions(objectives, Batch({"A red car.", "A tree."}).captions);
  expect_judged_valid(m, false);
  auto failing = build_objectives(judged_by(server.url(), "fail"), at::kCPU);
  EXPECT_THROW(score_captions(failing, Batch({"A red car.", "A tree."}).captions), JudgeError);
}

// Steps 1 and 3 are scored; step 2, while the server is gone, is invalid (each step has new
// captions, so the judge's cache cannot answer for the server).
TEST(JudgeFailures, AnOutageMidRunAffectsOnlyTheStepsItLasts) {
  auto server = std::make_unique<test::CompletionsServer>();
  const int port = server->server.port();
  auto objectives = build_objectives(judged_by(server->server.url(), "invalid"), at::kCPU);
  expect_judged_valid(score_captions(objectives, Batch({"A red car.", "A tree."}).captions), true);
  server.reset();
  expect_judged_valid(score_captions(objectives, Batch({"A blue car.", "A bush."}).captions), false);
  server = std::make_unique<test::CompletionsServer>(port);
  expect_judged_valid(score_captions(objectives, Batch({"A green car.", "A road."}).captions), true);
  EXPECT_GT(server->requests.load(), 0);
}

TEST(JudgeFailures, LogprobsAboveZeroFromTheServerAreRefusedNotScored) {
  balcap::test::RawServer server([](balcap::test::RawConnection& c, int) {
    for (;;) {
      json reply = test::completions_reply(json::parse(c.read_request().body));
      for (auto& choice : reply["choices"]) {
        if (choice.contains("logprobs")) choice["logprobs"]["token_logprobs"][1] = 2.5;  // P > 1
      }
      c.reply(200, reply.dump(), {}, true);
    }
  });
  auto rewards = judged_by(server.url(), "fail");
  std::erase_if(rewards.objectives, [](const auto& o) { return o.first != "linguistic"; });
  auto objectives = build_objectives(rewards, at::kCPU);
  try {
    score_captions(objectives, Batch({"A red car."}).captions);
    ADD_FAILURE() << "a probability above 1 was scored";
  } catch (const JudgeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("judge 'j' (" + server.url() + ")"), std::string::npos) << msg;
    EXPECT_NE(msg.find("log-probability 2.5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a log-probability"), std::string::npos) << msg;
  }
}

TEST(JudgeFailures, NanImpossibleAndMisshapenAnswersAreJudgeErrorsNotScores) {
  const double inf = std::numeric_limits<double>::infinity();
  auto table = std::make_shared<test::TableJudge>();
  auto checked = with_answer_checks(table, "/models/judge");
  const std::vector<std::pair<std::vector<double>, std::string>> cases = {
      {{std::nan(""), -1, -2, -3}, "log-probability nan for answer 'Yes'"},
      {{-1, inf, -2, -3}, "log-probability inf for answer 'yes'"},
      {{-inf, -inf, -inf, -inf}, "probability 0 for every answer (Yes, yes, No, no)"},
      {{-1, -2, -3}, "answered 3 of 4 choices"},
  };
  for (const auto& [row, reason] : cases) {
    table->choice_answer = [&](const JudgeRequest&, const std::vector<std::string>&) { return row; };
    try {
      checked->choice_logprobs({{"s", "Is the car red?", std::nullopt}}, yes_no_choices());
      ADD_FAILURE() << reason;
    } catch (const JudgeError& e) {
      EXPECT_NE(std::string(e.what()).find("judge 'table' (/models/judge)"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
  }
  // Through a scorer under on_judge_failure: invalid, a NaN answer is an invalid caption, not a 0.
  table->choice_answer = [](const JudgeRequest&, const std::vector<std::string>&) {
    return std::vector<double>{std::nan(""), std::nan(""), -1, -1};
  };
  ScorerSettings settings;
  settings.invalid_on_failure = true;
  data::Record record;
  record.id = "r";
  record.claims = {"a red car"};
  const ObjectiveScores s = ClaimRecall("coverage", checked, settings).score({{&record, "A red car.", 4}});
  EXPECT_FALSE(s.valid[0]);
}

}  // namespace
}  // namespace balcap::rewards
