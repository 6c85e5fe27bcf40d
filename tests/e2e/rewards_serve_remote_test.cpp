// `balcap serve` on loopback with the tiny reference judges (tests/reference/ref_rewards.py): the
// remote judge through it gives transformers' exact choice log-probabilities and greedy
// generations (api: completions), equal to the local judge's on the same checkpoint; api: chat
// generates the same text (vision judge with its image included); and the server speaks the
// OpenAI shapes (models, health, echo logprobs, errors).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>

#include "rewards/build_objectives.h"
#include "rewards/judge_factories.h"
#include "rewards/score_captions.h"
#include "rewards/remote_judge.h"
#include "parity/rewards_reference.h"
#include "serve/http_client.h"
#include "support/tls_cert.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;
using test::judge_model_dir;
using test::rewards_entries;

// `balcap serve --port 0` as a child process; the URL comes from its "listening on" line.
class ServeProcess {
 public:
  explicit ServeProcess(const std::filesystem::path& model_dir, const std::string& extra_args = "") {
    log_ = test::scratch_dir() / "serve.log";
    std::string cmd = "echo $$; exec " + test::shell_quote(test::kBalcapBinary) + " serve --model " +
                      test::shell_quote(model_dir.string()) + " --port 0 --served-model-name judge " + extra_args +
                      " 2>" + test::shell_quote(log_.string());
    pipe_ = ::popen(cmd.c_str(), "r");
    char line[512];
    if (pipe_ && std::fgets(line, sizeof(line), pipe_)) pid_ = std::atoi(line);
    while (pipe_ && std::fgets(line, sizeof(line), pipe_)) {
      std::string text(line);
      auto at = text.find("listening on ");
      if (at != std::string::npos) {
        url_ = text.substr(at + 13);
        url_.erase(url_.find_last_not_of("\n\r") + 1);
        return;
      }
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    if (pipe_) ::pclose(pipe_);
  }
  // "" when the server did not start (the log says why).
  const std::string& url() const { return url_; }
  std::string log() const { return std::filesystem::exists(log_) ? test::read_file(log_) : ""; }

 private:
  FILE* pipe_ = nullptr;
  int pid_ = -1;
  std::string url_;
  std::filesystem::path log_;
};

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

}  // namespace
}  // namespace balcap::rewards
