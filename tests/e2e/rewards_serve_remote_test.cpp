// `balcap serve` on loopback with the tiny reference judges (tests/reference/ref_rewards.py): the
// remote judge through it gives transformers' exact choice log-probabilities and greedy
// generations (api: completions), equal to the local judge's on the same checkpoint; api: chat
// generates the same text (vision judge with its image included); and the server speaks the
// OpenAI shapes (models, health, echo logprobs, errors).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include "rewards/build_objectives.h"
#include "rewards/judge_factories.h"
#include "rewards/judge_questions.h"
#include "rewards/score_captions.h"
#include "rewards/remote_judge.h"
#include "parity/rewards_reference.h"
#include "serve/http_client.h"
#include "support/serve_process.h"
#include "support/train_runs.h"
#include "support/tls_cert.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;
using test::judge_model_dir;
using test::rewards_entries;
using test::ServeProcess;

config::JudgeConfig remote(const std::string& url, const std::string& api = "completions") {
  config::JudgeConfig c;
  c.kind = "remote";
  c.url = url;
  c.api = api;
  c.timeout_s = 60;
  c.max_retries = 0;
  c.batch_size = 4;
  return c;
}

std::unique_ptr<Judge> local(const std::string& model) {
  config::JudgeConfig c;
  c.kind = "local";
  c.model = judge_model_dir(model).string();
  c.device = "cpu";
  c.dtype = "float32";
  return make_local_judge("local", c, at::kCPU);
}

std::optional<std::string> image_of(const json& entry) {
  if (entry["image"].is_null()) return std::nullopt;
  return test::reference_path("rewards", entry["image"].get<std::string>()).string();
}

TEST(BalcapServe, RemoteJudgeMatchesTransformersAndTheLocalJudgeOnQwen2) {
  ServeProcess serve(judge_model_dir("qwen2"));
  ASSERT_FALSE(serve.url().empty()) << serve.log();
  RemoteJudge judge("remote", remote(serve.url()));
  auto local_judge = local("qwen2");
  for (const json& c : rewards_entries("judge_cases", "qwen2")) {
    JudgeRequest request{c["system"], c["user"], {}};
    auto choices = c["choices"].get<std::vector<std::string>>();
    auto got = judge.choice_logprobs({request, request}, choices);  // two rows: batching is exercised
    auto want_local = local_judge->choice_logprobs({request}, choices);
    for (size_t k = 0; k < choices.size(); ++k) {
      EXPECT_NEAR(got[0][k], c["logprobs"][k].get<double>(), 1e-4) << c["user"] << " / " << choices[k];
      EXPECT_NEAR(got[0][k], want_local[0][k], 1e-4) << choices[k];
      EXPECT_EQ(got[1][k], got[0][k]);
    }
  }
  for (const json& g : rewards_entries("generations", "qwen2")) {
    JudgeRequest request{g["system"], g["user"], {}};
    const int64_t max_new = g["max_new_tokens"];
    std::string text = judge.generate({request}, max_new)[0];
    EXPECT_EQ(text, g["text"].get<std::string>()) << g["user"];
    EXPECT_EQ(text, local_judge->generate({request}, max_new)[0]);
  }
}

// rewards.objectives with every scorer on one judge `j`, local or remote (same checkpoint).
config::RewardsConfig all_scorers_on(const config::JudgeConfig& judge) {
  config::RewardsConfig rewards;
  rewards.objectives.clear();
  for (const auto& [name, scorer] : std::vector<std::pair<std::string, std::string>>{
           {"correctness", "claim_precision"}, {"coverage", "claim_recall"},
           {"linguistic", "judge_rating"}, {"qa", "qa_accuracy"}}) {
    config::ObjectiveConfig objective;
    objective.scorer = scorer;
    objective.judge = "j";
    rewards.objectives[name] = objective;
  }
  rewards.judges = {{"j", judge}};
  return rewards;
}

// The objectives themselves (claim splitting by generation, yes/no verification, letters,
// ratings) give the same scores whether the judge runs in-process or behind `balcap serve`.
TEST(BalcapServe, EveryObjectiveScoresTheSameThroughTheServerAsInProcess) {
  ServeProcess serve(judge_model_dir("qwen2"));
  ASSERT_FALSE(serve.url().empty()) << serve.log();
  config::JudgeConfig in_process;
  in_process.kind = "local";
  in_process.model = judge_model_dir("qwen2").string();
  in_process.device = "cpu";
  in_process.dtype = "float32";
  in_process.max_new_tokens = 8;  // claim splitting: the random judge rarely stops by itself
  config::JudgeConfig served = remote(serve.url());
  served.max_new_tokens = 8;
  auto local_objectives = build_objectives(all_scorers_on(in_process), at::kCPU);
  auto remote_objectives = build_objectives(all_scorers_on(served), at::kCPU);

  data::Record record;
  record.id = "r1";
  record.references = {"A red car parked next to a tree.", "A small red car beside a green tree."};
  record.qa = {{"What colour is the car?", {"red", "blue", "green"}, 0},
               {"What is next to the car?", {"a house", "a tree"}, 1}};
  std::vector<ScoredCaption> captions;
  for (const char* text : {"A red car next to a tree.", "car car car car"}) {
    captions.push_back({&record, text, 6});
  }
  const RewardMatrix local_scores = score_captions(local_objectives, captions);
  const RewardMatrix remote_scores = score_captions(remote_objectives, captions);
  ASSERT_EQ(local_scores.objectives, remote_scores.objectives);
  for (size_t k = 0; k < local_scores.objectives.size(); ++k) {
    for (size_t i = 0; i < captions.size(); ++i) {
      SCOPED_TRACE(local_scores.objectives[k] + " / " + captions[i].text);
      EXPECT_EQ(remote_scores.valid[k][i], local_scores.valid[k][i]);
      EXPECT_NEAR(remote_scores.score[k][i], local_scores.score[k][i], 1e-4);
    }
  }
}

TEST(BalcapServe, ChatApiGeneratesTheReferenceTextIncludingAVisionJudgesImage) {
  for (const std::string model : {"qwen2", "qwen_vl", "llava"}) {
    ServeProcess serve(judge_model_dir(model));
    ASSERT_FALSE(serve.url().empty()) << serve.log();
    auto config = remote(serve.url(), "chat");
    config.vision = test::rewards_manifest()["models"][model]["vision"].get<bool>();
    RemoteJudge judge("chat", config);
    for (const json& g : rewards_entries("generations", model)) {
      JudgeRequest request{g["system"], g["user"], image_of(g)};
      EXPECT_EQ(judge.generate({request}, g["max_new_tokens"].get<int64_t>())[0], g["text"].get<std::string>())
          << model << ": " << g["user"];
    }
  }
}

// The paper's precision through a remote multimodal judge (api: chat, vision: true): every truth and
// pointability question carries the record's image (as a base64 image_url part), each assertion gets
// its two verdicts in the judge log, the score is the share of assertions with two yes verdicts, and
// every Yes/No logprob the server returns is the in-process judge's exact value with the same image
// when the answer is among the first token's top 20, else an upper bound of it (api: chat's rule).
TEST(BalcapServe, ImageGroundedPrecisionThroughAServedVisionJudge) {
  ServeProcess serve(judge_model_dir("qwen_vl"));
  ASSERT_FALSE(serve.url().empty()) << serve.log();
  const auto log = test::scratch_dir() / "judge_calls.jsonl";
  config::RewardsConfig rewards;
  rewards.objectives.clear();
  config::ObjectiveConfig precision;
  precision.scorer = "claim_precision";
  precision.judge = "vl";
  precision.evidence = "image";
  rewards.objectives["correctness"] = precision;
  config::JudgeConfig vl = remote(serve.url(), "chat");
  vl.vision = true;
  vl.max_new_tokens = 12;  // claim splitting: the random judge rarely stops by itself
  rewards.judges = {{"vl", vl}};
  rewards.log_judge_calls = log.string();  // pointability: auto -> on for image evidence
  auto objectives = build_objectives(rewards, at::kCPU);

  data::Record record;
  record.id = "r1";
  record.image = test::reference_path("rewards", "images/cat_64x48.png");
  const std::vector<ScoredCaption> captions{{&record, "A striped cat sits on a mat. The mood is calm.", 12}};
  const double score = objectives[0]->score(captions).score[0];

  std::map<std::string, std::map<std::string, std::string>> verdicts;  // assertion -> question -> verdict
  std::vector<json> questions;
  std::istringstream in(test::read_file(log));
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    if (j["call"] != "choice_logprobs") continue;
    EXPECT_EQ(j["image"], record.image.string()) << j["user"];
    verdicts[j["assertion"]][j["question"]] = j["verdict"];
    questions.push_back(j);
  }
  ASSERT_FALSE(verdicts.empty());
  int passing = 0;
  for (const auto& [assertion, v] : verdicts) {
    ASSERT_EQ(v.size(), 2u) << assertion;  // verify and pointable
    passing += v.at("verify") == "yes" && v.at("pointable") == "yes";
  }
  EXPECT_DOUBLE_EQ(score, static_cast<double>(passing) / static_cast<double>(verdicts.size()));
  // The served logprobs against the in-process judge's exact ones on the same prompt and image.
  auto local_judge = local("qwen_vl");
  int exact_matches = 0, values = 0;
  for (const json& q : questions) {
    const JudgeRequest request{q["system"], q["user"], q["image"].get<std::string>()};
    const auto exact = local_judge->choice_logprobs({request}, yes_no_choices())[0];
    for (std::size_t k = 0; k < exact.size(); ++k) {
      const double served = q["logprobs"][k].get<double>();
      EXPECT_GE(served, exact[k] - 1e-4) << q["user"] << " / " << yes_no_choices()[k];
      exact_matches += std::abs(served - exact[k]) < 1e-4;
      ++values;
    }
  }
  std::cout << verdicts.size() << " assertions, " << questions.size() << " questions; " << exact_matches << " of "
            << values << " served Yes/No logprobs exact (in the top 20), the rest upper bounds\n";
}

TEST(BalcapServe, SpeaksTheOpenAiShapesAndErrors) {
  ServeProcess serve(judge_model_dir("qwen2"));
  ASSERT_FALSE(serve.url().empty()) << serve.log();
  serve::HttpClientOptions quick;
  quick.timeout_s = 30;
  serve::HttpClient client(serve.url(), quick);
  auto get = [&](const std::string& path) { return client.request("GET", path, {}, ""); };
  auto post = [&](const std::string& path, const std::string& body) {
    serve::Headers json_type;
    json_type.set("Content-Type", "application/json");
    return client.request("POST", path, json_type, body);
  };
  EXPECT_EQ(json::parse(get("/models").body)["data"][0]["id"], "judge");
  std::string root = serve.url().substr(0, serve.url().rfind("/v1"));
  EXPECT_EQ(serve::HttpClient(root, quick).request("GET", "/health", {}, "").status, 200);

  json reply = json::parse(post("/completions", R"({"model":"judge","prompt":"Hello world","max_tokens":2,
      "temperature":0,"echo":true,"logprobs":2})").body);
  const json& lp = reply["choices"][0]["logprobs"];
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());  // the first prompt token has no logprob (vLLM)
  EXPECT_TRUE(lp["token_logprobs"][1].is_number());
  EXPECT_EQ(lp["top_logprobs"][1].size(), 2u);
  EXPECT_EQ(lp["text_offset"][0], 0);
  EXPECT_EQ(lp["tokens"].size(), lp["text_offset"].size());
  EXPECT_EQ(reply["choices"][0]["text"].get<std::string>().rfind("Hello world", 0), 0u);
  EXPECT_EQ(reply["usage"]["completion_tokens"], 2);

  auto bad = post("/completions", "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(json::parse(bad.body)["error"]["message"].is_string());
  auto wrong_model = post("/completions", R"({"model":"other","prompt":"x"})");
  EXPECT_EQ(wrong_model.status, 404);
  EXPECT_NE(wrong_model.body.find("does not exist"), std::string::npos);
  EXPECT_EQ(post("/completions", R"({"prompt":"x","max_tokens":-1})").status, 400);
  EXPECT_EQ(post("/chat/completions", R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]})").status, 400);  // text model
  EXPECT_EQ(get("/nowhere").status, 404);
}

TEST(BalcapServe, OverHttpsTheJudgeTrustsTheServerThroughSslCaOnly) {
  // Next to the scratch directory, which ServeProcess empties for its log.
  const auto tls_dir = test::scratch_dir().parent_path() / "BalcapServe.tls";
  std::filesystem::create_directories(tls_dir);
  const auto tls = test::make_self_signed_cert(tls_dir);
  ServeProcess serve(judge_model_dir("qwen2"), "--tls-cert " + test::shell_quote(tls.cert.string()) +
                                                   " --tls-key " + test::shell_quote(tls.key.string()));
  ASSERT_FALSE(serve.url().empty()) << serve.log();
  ASSERT_EQ(serve.url().rfind("https://127.0.0.1:", 0), 0u) << serve.url();
  const json g = rewards_entries("generations", "qwen2").at(0);
  JudgeRequest request{g["system"], g["user"], {}};
  const int64_t max_new = g["max_new_tokens"];
  auto config = remote(serve.url());
  config.ssl_ca = tls.cert.string();
  EXPECT_EQ(RemoteJudge("tls", config).generate({request}, max_new)[0], g["text"].get<std::string>());

  config.ssl_ca = "";  // the system CAs do not know a self-signed certificate
  try {
    RemoteJudge("tls", config).generate({request}, max_new);
    ADD_FAILURE() << "an untrusted certificate was accepted";
  } catch (const JudgeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("TLS error"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ssl_ca"), std::string::npos) << msg;
  }
}

// train.overlap_scoring against a judge with a hosted API's latency (`balcap serve --delay-ms 200`,
// requests waiting side by side): the linguistic objective is scored remotely (api: chat, one
// request per caption), chunk by chunk,
// while the next chunk is sampled, so sampling + scoring take about the longer of the two (within
// 15%), not their sum. The policy is the tiny reference VLM; the other objectives are lexical.
TEST(BalcapServe, ScoringWhileSamplingHidesARemoteJudgesLatency) {
  const std::filesystem::path dir = test::scratch_dir();
  ServeProcess serve(judge_model_dir("qwen2"), "--delay-ms 200", dir);
  ASSERT_FALSE(serve.url().empty()) << serve.log();
  std::ostringstream y;
  y << "model:\n  path: '" << judge_model_dir("qwen_vl").string() << "'\n"
    << "data:\n  train: '" << test::synth_data(dir / "data", 4).string() << "'\n"
    << "sampling:\n  max_new_tokens: 16\n  cuda_graphs: false\n"
    << "rewards:\n  objectives:\n"
    << "    correctness: {scorer: claim_precision, judge: lexical}\n"
    << "    coverage: {scorer: claim_recall, judge: lexical}\n"
    << "    linguistic: {scorer: judge_rating, judge: served}\n"
    << "  judges:\n    lexical: {kind: lexical}\n"
    << "    served: {kind: remote, url: '" << serve.url() << "', api: chat, batch_size: 1, concurrency: 2, "
    << "timeout_s: 60}\n"
    // The random policy can write the text of a Qwen added token the tiny judge's embedding lacks
    // (the server answers 400): such a caption's linguistic score is invalid, the run goes on.
    << "  on_judge_failure: invalid\n"
    << "train:\n  run_dir: '" << (dir / "run").string() << "'\n  max_steps: 3\n  save_every: 0\n  batch_size: 4\n"
    << "  group_size: 2\n  micro_batch: 16\n  dtype: float32\n  device: cpu\n  overlap_scoring: 4\n"
    << "logging:\n  tensorboard: false\n  progress: never\n";
  const test::CommandResult r = test::run_balcap("train --config " + test::shell_quote(test::write_config(dir, y.str()).string()));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << serve.log();
  const auto rows = test::metrics_rows(dir / "run");
  ASSERT_EQ(rows.size(), 3u);
  for (std::size_t i = 1; i < rows.size(); ++i) {  // step 1 warms up
    const json& row = rows[i];
    const double rollout = row.at("time/preprocess_s").get<double>() + row.at("time/sample_s").get<double>();
    const double scoring = row.at("time/scoring_s").get<double>();
    const double together = row.at("time/rollout_scoring_s").get<double>();
    SCOPED_TRACE("step " + std::to_string(i + 1) + ": rollout " + std::to_string(rollout) + " s, scoring " +
                 std::to_string(scoring) + " s, both " + std::to_string(together) + " s");
    EXPECT_GT(row.at("reward/linguistic/valid_fraction").get<double>(), 0.0);  // measured 0.5
    EXPECT_GE(scoring, 4 * 0.2);  // 8 captions (one chat request each), 2 at a time, 200 ms each
    EXPECT_LE(together, 1.15 * std::max(rollout, scoring));
    EXPECT_LT(together, rollout + scoring - 0.5 * rollout);  // at least half the rollout hidden under scoring
  }
}

}  // namespace
}  // namespace balcap::rewards
