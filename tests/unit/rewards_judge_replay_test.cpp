// A resumed run does not pay again for judge calls already logged (rewards.log_judge_calls): a
// second run over the same log scores the same captions with zero requests reaching a real
// (scripted) judge server and bit-identical scores; only requests missing from the log are sent; a
// torn last line (a kill mid-write) is cut off and only its request asked again; replayed
// log-probabilities are the logged doubles bit for bit; failed calls, lossy lines and another
// judge's lines are never replayed.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <sstream>

#include "rewards/build_objectives.h"
#include "rewards/judge_call_log.h"
#include "rewards/judge_questions.h"
#include "rewards/score_captions.h"
#include "rewards_completions_server.h"
#include "rewards_table_judge.h"
#include "support/test_support.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;
using test::CompletionsServer;

// Every objective that asks a judge, on one remote judge `j`, logging to `log`.
config::RewardsConfig judged_by(const std::string& url, const std::filesystem::path& log) {
  config::RewardsConfig rewards;
  rewards.objectives.clear();
  for (const auto& [name, scorer] : std::vector<std::pair<std::string, std::string>>{
           {"correctness", "claim_precision"}, {"coverage", "claim_recall"}, {"linguistic", "judge_rating"}}) {
    config::ObjectiveConfig objective;
    objective.scorer = scorer;
    objective.judge = "j";
    rewards.objectives[name] = objective;
  }
  rewards.judges = {{"j", test::quick_remote(url)}};
  rewards.log_judge_calls = log.string();
  return rewards;
}

struct Batch {
  data::Record record;
  std::vector<ScoredCaption> captions;
  explicit Batch(const std::vector<std::string>& texts) {
    record.id = "r1";
    record.references = {"A red car parked next to a tree.", "A small red car beside a green tree."};
    for (const auto& t : texts) captions.push_back({&record, t, 6});
  }
};

// Scores `batch` with objectives built (and destroyed: the log closed) for this one run.
RewardMatrix run(const config::RewardsConfig& rewards, const Batch& batch) {
  auto objectives = build_objectives(rewards, at::kCPU);
  return score_captions(objectives, batch.captions);
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::vector<std::string> out;
  std::istringstream in(balcap::test::read_file(path));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Captures what balcap logs while it lives.
struct LogCapture {
  std::ostringstream text;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
  LogCapture() { spdlog::default_logger()->sinks().push_back(sink); }
  ~LogCapture() { spdlog::default_logger()->sinks().pop_back(); }
};

const std::vector<std::string> kFour = {"A red car next to a tree.", "car car car car", "A blue bus.",
                                        "A tree and a small red car."};

TEST(JudgeReplay, ASecondRunOfTheSameBatchReachesTheServerZeroTimesAndScoresIdentically) {
  CompletionsServer server;
  const auto log = balcap::test::scratch_dir() / "run" / "judge_calls.jsonl";
  const auto rewards = judged_by(server.server.url(), log);
  const Batch batch(kFour);
  const RewardMatrix first = run(rewards, batch);
  const int paid = server.requests;
  ASSERT_GT(paid, 0);
  const auto logged = static_cast<std::int64_t>(lines_of(log).size());

  const std::int64_t replayed_before = replayed_judge_requests();
  const RewardMatrix second = run(rewards, batch);  // the resumed run: same captions, same log
  EXPECT_EQ(server.requests, paid);                 // not one more request
  EXPECT_EQ(replayed_judge_requests() - replayed_before, logged);
  EXPECT_EQ(second.score, first.score);  // exact: the logged doubles come back bit for bit
  EXPECT_EQ(second.valid, first.valid);
  EXPECT_EQ(static_cast<std::int64_t>(lines_of(log).size()), logged);  // replayed calls are not logged again

  // The same judge name served elsewhere is another judge: its answers are asked for, not replayed.
  CompletionsServer elsewhere;
  run(judged_by(elsewhere.server.url(), log), batch);
  EXPECT_GT(elsewhere.requests, 0);
}

TEST(JudgeReplay, OnlyRequestsMissingFromTheLogReachTheServer) {
  std::mutex m;
  std::vector<std::string> prompts;  // every prompt the server received
  balcap::test::RawServer server([&](balcap::test::RawConnection& c, int) {
    for (;;) {
      const json body = json::parse(c.read_request().body);
      {
        std::lock_guard lock(m);
        for (const auto& p : body["prompt"]) prompts.push_back(p);
      }
      c.reply(200, test::completions_reply(body).dump(), {}, true);
    }
  });
  const auto log = balcap::test::scratch_dir() / "judge_calls.jsonl";
  auto rewards = judged_by(server.url(), log);
  std::erase_if(rewards.objectives, [](const auto& o) { return o.first != "linguistic"; });  // 3 ratings per caption
  const RewardMatrix first = run(rewards, Batch(kFour));
  {
    std::lock_guard lock(m);
    ASSERT_EQ(prompts.size(), 4u * 3u * 10u);  // captions x aspects x ratings 1..10
    prompts.clear();
  }
  auto five = kFour;
  five.push_back("A green tree beside a road.");
  const RewardMatrix second = run(rewards, Batch(five));
  std::lock_guard lock(m);
  ASSERT_EQ(prompts.size(), 3u * 10u);  // the new caption's three ratings only
  for (const auto& p : prompts) EXPECT_NE(p.find("A green tree beside a road."), std::string::npos) << p;
  for (std::size_t i = 0; i < kFour.size(); ++i) EXPECT_EQ(second.score[0][i], first.score[0][i]);
}

TEST(JudgeReplay, ATornLastLineIsCutOffAndOnlyItsRequestIsAskedAgain) {
  CompletionsServer server;
  const auto log = balcap::test::scratch_dir() / "judge_calls.jsonl";
  auto rewards = judged_by(server.server.url(), log);
  std::erase_if(rewards.objectives, [](const auto& o) { return o.first != "linguistic"; });
  rewards.judges["j"].batch_size = 16;  // a request's 10 ratings in one HTTP request
  const Batch batch({"A red car next to a tree.", "A blue bus."});
  const RewardMatrix first = run(rewards, batch);
  // The run was SIGKILLed while writing its last line: that line is half there, without its '\n'.
  auto lines = lines_of(log);
  std::string text;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) text += lines[i] + "\n";
  balcap::test::write_file(log, text + lines.back().substr(0, lines.back().size() / 2));
  const int paid = server.requests;

  LogCapture captured;
  const RewardMatrix second = run(rewards, batch);
  EXPECT_NE(captured.text.str().find("torn line"), std::string::npos) << captured.text.str();
  EXPECT_EQ(server.requests, paid + 1);  // one HTTP request: the torn line's
  EXPECT_EQ(second.score, first.score);
  const auto repaired = lines_of(log);
  EXPECT_EQ(repaired.size(), lines.size());  // the torn fragment gone, its request logged again
  for (const auto& line : repaired) EXPECT_NO_THROW(static_cast<void>(json::parse(line))) << line;
}

// Doubles JSON must carry exactly: shortest round-trip decimal, -0, a subnormal, the extremes, and
// -inf (an impossible answer, written as null).
TEST(JudgeReplay, ReplayedLogprobsAreBitIdenticalIncludingImpossibleAnswers) {
  const std::vector<double> row = {-(0.1 + 0.2), -0.0, -std::numeric_limits<double>::denorm_min(),
                                   -std::numeric_limits<double>::infinity()};
  const std::vector<double> row2 = {-std::numeric_limits<double>::max(), std::nextafter(-1.0, 0.0), -1e-300,
                                    -2.718281828459045};
  auto answering = std::make_shared<test::TableJudge>();
  answering->choice_answer = [&](const JudgeRequest& r, const std::vector<std::string>&) {
    return r.user == "q1" ? row : row2;
  };
  const auto path = balcap::test::scratch_dir() / "judge_calls.jsonl";
  const std::vector<JudgeRequest> requests = {{"s", "q1", std::nullopt}, {"s", "q2", "img.png"}};
  with_call_log(answering, path)->choice_logprobs(requests, yes_no_choices());

  auto unreachable = std::make_shared<test::TableJudge>();
  unreachable->failing = true;  // any request reaching it fails the test
  const auto replayed = with_call_log(unreachable, path)->choice_logprobs(requests, yes_no_choices());
  ASSERT_EQ(replayed.size(), 2u);
  EXPECT_EQ(std::memcmp(replayed[0].data(), row.data(), sizeof(double) * row.size()), 0);
  EXPECT_EQ(std::memcmp(replayed[1].data(), row2.data(), sizeof(double) * row2.size()), 0);
  EXPECT_EQ(unreachable->choice_calls, 0);
}

TEST(JudgeReplay, FailedCallsLossyTextAndAnotherJudgesLinesAreNeverReplayed) {
  const auto path = balcap::test::scratch_dir() / "judge_calls.jsonl";
  auto judge = std::make_shared<test::TableJudge>();
  judge->generate_answer = [](const JudgeRequest& r) { return "claims of " + r.user; };
  const JudgeRequest failed{"s", "failed once", std::nullopt}, lossy{"s", "caf\xff", std::nullopt},
      other{"s", "asked of judge id-a", std::nullopt};
  {
    auto log = std::make_shared<JudgeCallLog>(path);
    judge->failing = true;
    EXPECT_THROW(with_call_log(judge, log, "id-a")->generate({failed}, 8), JudgeError);
    judge->failing = false;
    with_call_log(judge, log, "id-a")->generate({lossy, other}, 8);
  }
  EXPECT_NE(balcap::test::read_file(path).find("\"lossy\":true"), std::string::npos);
  judge->generate_requests.clear();
  auto log = std::make_shared<JudgeCallLog>(path);
  EXPECT_EQ(log->loaded(), 1u);  // only `other`, under id-a
  EXPECT_EQ(with_call_log(judge, log, "id-a")->generate({failed, lossy, other}, 8),
            (std::vector<std::string>{"claims of failed once", "claims of caf\xff", "claims of asked of judge id-a"}));
  ASSERT_EQ(judge->generate_requests.size(), 2u);  // the failed and the lossy request were asked again
  with_call_log(judge, log, "id-b")->generate({other}, 8);
  EXPECT_EQ(judge->generate_requests.size(), 3u);  // another judge id: asked again
  with_call_log(judge, log, "id-a")->generate({other}, 16);
  EXPECT_EQ(judge->generate_requests.size(), 4u);  // another max_new_tokens: another request
}

}  // namespace
}  // namespace balcap::rewards
