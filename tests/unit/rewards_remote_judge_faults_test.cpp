// The remote judge against scripted raw servers: what it sends (ChatML prompts, echo logprobs
// requests, Bearer key), how it reads replies (echoed continuation logprobs, chat top_logprobs),
// and every failure path: hang -> timeout, dropped connection, malformed JSON, HTTP 500 then
// success, always failing -> JudgeError after the retry budget with backoff, 400 not retried, the
// cache, bounded concurrency, and the API key never appearing in errors or logs; 429 with
// Retry-After waits what the server asks, total_timeout_s bounds a call, and sequential requests
// reuse one keep-alive connection. Issue 18's judge faults: a server down for the whole run, one that
// dies mid-run and comes back, a reply slower than the timeout, a dead server under a call of many
// requests, 429 storms (with and without Retry-After, ending or not), and replies that are JSON but
// lack what was asked (retried, then a loud error with the reason).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "rewards/remote_judge.h"
#include "rewards_completions_server.h"
#include "support/error_of.h"
#include "support/raw_http_server.h"

namespace balcap::rewards {
namespace {

using balcap::test::RawServer;
using nlohmann::json;

config::JudgeConfig remote_config(const RawServer& server) {
  config::JudgeConfig c;
  c.kind = "remote";
  c.url = server.url();
  c.model_name = "tiny";
  c.timeout_s = 2.0;
  c.max_retries = 2;
  c.backoff_s = 0.01;
  c.batch_size = 8;
  return c;
}

// A well-behaved /v1/completions: generation = "echo:" + the prompt's last 5 characters.
void answer_completions(balcap::test::RawConnection& s) {
  auto request = RawServer::read_request(s);
  json body = json::parse(request.body);
  json choices = json::array();
  for (size_t i = 0; i < body["prompt"].size(); ++i) {
    std::string p = body["prompt"][i];
    choices.push_back({{"index", i}, {"text", "echo:" + p.substr(p.size() - 5)}, {"finish_reason", "stop"}});
  }
  RawServer::reply(s, 200, json{{"choices", choices}}.dump());
}

const std::vector<JudgeRequest> kTwo = {{"sys", "first question", {}}, {"sys", "second question", {}}};

template <class Fn>
std::string judge_error_of(Fn fn) {
  return balcap::test::error_of<JudgeError>(fn);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(RemoteJudge, CompletionsSendsChatMlPromptsGreedyWithTheEndOfTurnStop) {
  json seen;
  std::mutex m;
  RawServer server([&](balcap::test::RawConnection& s, int) {
    auto request = RawServer::read_request(s);
    {
      std::lock_guard lock(m);
      seen = json::parse(request.body);
      seen["path"] = request.target;
    }
    RawServer::reply(s, 200, json{{"choices", {{{"index", 1}, {"text", "B"}}, {{"index", 0}, {"text", "A"}}}}}.dump());
  });
  RemoteJudge judge("j", remote_config(server));
  EXPECT_EQ(judge.generate(kTwo, 7), (std::vector<std::string>{"A", "B"}));  // reordered by index
  std::lock_guard lock(m);
  EXPECT_EQ(seen["path"], "/v1/completions");
  EXPECT_EQ(seen["model"], "tiny");
  EXPECT_EQ(seen["max_tokens"], 7);
  EXPECT_EQ(seen["temperature"], 0);
  EXPECT_EQ(seen["stop"], json::array({"<|im_end|>"}));
  EXPECT_EQ(seen["prompt"][0],
            "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nfirst question<|im_end|>\n<|im_start|>assistant\n");
}

TEST(RemoteJudge, ChoiceLogprobsSumTheEchoedTokensAfterThePrompt) {
  json seen;
  std::mutex m;
  RawServer server([&](balcap::test::RawConnection& s, int) {
    auto request = RawServer::read_request(s);
    json body = json::parse(request.body);
    {
      std::lock_guard lock(m);
      seen = body;
    }
    json choices = json::array();
    for (size_t i = 0; i < body["prompt"].size(); ++i) {
      std::string p = body["prompt"][i];  // prompt + "10" or prompt + "7": tokens "1","0" / "7", then one generated
      size_t n = utf8_length(p);
      bool ten = p.ends_with("10");
      json offsets = ten ? json{0, n - 2, n - 1, n} : json{0, n - 1, n};
      json values = ten ? json{nullptr, -1.5, -0.25, -9.0} : json{nullptr, -2.0, -9.0};
      choices.push_back({{"index", i}, {"logprobs", {{"tokens", json::array()}, {"token_logprobs", values},
                                                     {"text_offset", offsets}}}});
    }
    RawServer::reply(s, 200, json{{"choices", choices}}.dump());
  });
  RemoteJudge judge("j", remote_config(server));
  // A prompt with non-ASCII text: offsets count characters, not bytes.
  auto lp = judge.choice_logprobs({{"s", "caf\xc3\xa9 ok?", {}}}, {"10", "7"});
  EXPECT_DOUBLE_EQ(lp[0][0], -1.75);
  EXPECT_DOUBLE_EQ(lp[0][1], -2.0);
  std::lock_guard lock(m);
  EXPECT_EQ(seen["echo"], true);
  EXPECT_EQ(seen["max_tokens"], 1);
  EXPECT_EQ(seen["logprobs"], 0);  // chosen-token logprobs only: no top-k work on the server
  EXPECT_EQ(seen["prompt"].size(), 2u);
}

TEST(RemoteJudge, EchoWithoutATokenBoundaryAtThePromptEndIsAJudgeError) {
  json lp = {{"token_logprobs", {nullptr, -1.0, -2.0}}, {"text_offset", {0, 5, 9}}};
  EXPECT_DOUBLE_EQ(echoed_continuation_logprob(lp, 5, 9, "w"), -1.0);
  std::string msg = judge_error_of([&] { echoed_continuation_logprob(lp, 6, 9, "judge 'j'"); });
  EXPECT_NE(msg.find("no echoed token starts at the end of the prompt (character 6)"), std::string::npos) << msg;
  json null_lp = {{"token_logprobs", {nullptr, nullptr}}, {"text_offset", {0, 5}}};
  EXPECT_NE(judge_error_of([&] { echoed_continuation_logprob(null_lp, 5, 9, "w"); }).find("has no logprob"),
            std::string::npos);
}

TEST(RemoteJudge, ChatChoicesUseTheFirstTokensTopLogprobs) {
  json top = {{{"token", "Yes"}, {"logprob", -0.1}}, {{"token", " No"}, {"logprob", -2.5}},
              {{"token", "1"}, {"logprob", -3.0}}, {{"token", "7"}, {"logprob", -4.0}}};
  EXPECT_DOUBLE_EQ(top_logprob_of_choice(top, "yes") /* case matters: not listed */, -4.0);
  EXPECT_DOUBLE_EQ(top_logprob_of_choice(top, "Yes"), -0.1);
  EXPECT_DOUBLE_EQ(top_logprob_of_choice(top, "No"), -2.5);   // leading space ignored
  EXPECT_DOUBLE_EQ(top_logprob_of_choice(top, "10"), -3.0);   // first token "1"
  EXPECT_DOUBLE_EQ(top_logprob_of_choice(top, "7"), -4.0);
}

TEST(RemoteJudge, HangingServerTimesOutAndFailsAfterTheRetryBudget) {
  RawServer server([](balcap::test::RawConnection& s, int) { RawServer::hang(s); });
  auto config = remote_config(server);
  config.timeout_s = 0.2;
  config.max_retries = 1;
  config.backoff_s = 0.05;
  RemoteJudge judge("claims", config);
  auto t0 = std::chrono::steady_clock::now();
  std::string msg = judge_error_of([&] { judge.generate(kTwo, 4); });
  double elapsed = seconds_since(t0);
  EXPECT_NE(msg.find("judge 'claims'"), std::string::npos) << msg;
  EXPECT_NE(msg.find(server.url("/v1/completions")), std::string::npos) << msg;
  EXPECT_NE(msg.find("failed after 2 attempt(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("timed out after 0.2 s waiting for the response"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HINT"), std::string::npos) << msg;
  EXPECT_EQ(server.connections(), 2);
  EXPECT_GE(elapsed, 0.44);
  EXPECT_LT(elapsed, 2.0);
}

TEST(RemoteJudge, DroppedConnectionIsRetriedAndThenAnswers) {
  RawServer server([](balcap::test::RawConnection& s, int index) {
    if (index == 0) {
      RawServer::read_request(s);
      return;  // closes without a reply
    }
    answer_completions(s);
  });
  RemoteJudge judge("j", remote_config(server));
  auto out = judge.generate(kTwo, 4);
  EXPECT_EQ(out, (std::vector<std::string>{"echo:tant\n", "echo:tant\n"}));  // the prompts' last 5 characters
  EXPECT_EQ(server.connections(), 2);
}

TEST(RemoteJudge, Http500IsRetriedThenSucceeds) {
  RawServer server([](balcap::test::RawConnection& s, int index) {
    if (index == 0) {
      RawServer::read_request(s);
      RawServer::reply(s, 500, R"({"error":{"message":"CUDA out of memory"}})");
      return;
    }
    answer_completions(s);
  });
  RemoteJudge judge("j", remote_config(server));
  EXPECT_EQ(judge.generate(kTwo, 4).size(), 2u);
  EXPECT_EQ(server.connections(), 2);
}

TEST(RemoteJudge, MalformedJsonIsRetriedAndNamedInTheFinalError) {
  RawServer server([](balcap::test::RawConnection& s, int) {
    RawServer::read_request(s);
    RawServer::reply(s, 200, "{\"choices\": [ oops");
  });
  RemoteJudge judge("j", remote_config(server));
  std::string msg = judge_error_of([&] { judge.generate(kTwo, 4); });
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;
  EXPECT_EQ(server.connections(), 3);  // 1 + max_retries
}

TEST(RemoteJudge, AlwaysFailingServerBacksOffExponentially) {
  std::vector<double> arrivals;
  std::mutex m;
  auto t0 = std::chrono::steady_clock::now();
  RawServer server([&](balcap::test::RawConnection& s, int) {
    RawServer::read_request(s);
    {
      std::lock_guard lock(m);
      arrivals.push_back(seconds_since(t0));
    }
    RawServer::reply(s, 503, R"({"error":{"message":"overloaded"}})");
  });
  auto config = remote_config(server);
  config.max_retries = 3;
  config.backoff_s = 0.05;
  RemoteJudge judge("j", config);
  std::string msg = judge_error_of([&] { judge.generate(kTwo, 4); });
  EXPECT_NE(msg.find("failed after 4 attempt(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HTTP 503"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overloaded"), std::string::npos) << msg;
  std::lock_guard lock(m);
  ASSERT_EQ(arrivals.size(), 4u);
  const double expected[] = {0.05, 0.10, 0.20};  // backoff_s doubling
  for (int k = 0; k < 3; ++k) {
    double gap = arrivals[k + 1] - arrivals[k];
    EXPECT_GE(gap, expected[k] * 0.95) << "gap " << k;
    EXPECT_LT(gap, expected[k] + 0.3) << "gap " << k;
  }
}

TEST(RemoteJudge, TooManyRequestsWaitsTheServersRetryAfter) {
  std::vector<double> arrivals;
  std::mutex m;
  auto t0 = std::chrono::steady_clock::now();
  RawServer server([&](balcap::test::RawConnection& s, int index) {
    RawServer::read_request(s);
    {
      std::lock_guard lock(m);
      arrivals.push_back(seconds_since(t0));
    }
    if (index == 0) {
      s.reply(429, R"({"error":{"message":"rate limited"}})", {"Retry-After: 1"});
      return;
    }
    s.reply(200, R"({"choices":[{"index":0,"text":"ok"},{"index":1,"text":"ok"}]})");
  });
  auto config = remote_config(server);
  config.backoff_s = 0.01;  // the backoff alone would retry after ~10 ms
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  auto out = RemoteJudge("j", config).generate(kTwo, 4);
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_EQ(out, (std::vector<std::string>{"ok", "ok"}));
  std::lock_guard lock(m);
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_GE(arrivals[1] - arrivals[0], 1.0);  // measured: the second attempt came after Retry-After
  EXPECT_LT(arrivals[1] - arrivals[0], 1.8);
  EXPECT_NE(log.str().find("HTTP 429"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("Retry-After"), std::string::npos) << log.str();
}

TEST(RemoteJudge, TotalTimeoutBoundsRetriesAndLongRetryAfter) {
  RawServer server([](balcap::test::RawConnection& s, int) {
    RawServer::read_request(s);
    RawServer::reply(s, 503, R"({"error":{"message":"overloaded"}})");
  });
  auto config = remote_config(server);
  config.max_retries = 50;
  config.backoff_s = 0.1;  // 0.1, 0.2, 0.4, ... : the 0.8 s of total_timeout_s end the call after ~3 attempts
  config.timeout_s = 0.5;
  config.total_timeout_s = 0.8;
  auto t0 = std::chrono::steady_clock::now();
  std::string msg = judge_error_of([&] { RemoteJudge("j", config).generate(kTwo, 4); });
  double elapsed = seconds_since(t0);
  EXPECT_LT(elapsed, 0.8 + 0.3);  // the last attempt starts before the limit; without it: 50 retries, minutes
  EXPECT_GE(elapsed, 0.3);
  EXPECT_NE(msg.find("gave up after"), std::string::npos) << msg;
  EXPECT_NE(msg.find("would pass the total limit of 0.8 s"), std::string::npos) << msg;
  EXPECT_NE(msg.find("total_timeout_s"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overloaded"), std::string::npos) << msg;
  EXPECT_LE(server.connections(), 4);

  // A Retry-After longer than what is left is not waited for.
  RawServer slow_down([](balcap::test::RawConnection& s, int) {
    RawServer::read_request(s);
    s.reply(429, R"({"error":{"message":"slow down"}})", {"Retry-After: 30"});
  });
  config.url = slow_down.url();
  config.total_timeout_s = 5;
  t0 = std::chrono::steady_clock::now();
  msg = judge_error_of([&] { RemoteJudge("j", config).generate(kTwo, 4); });
  EXPECT_LT(seconds_since(t0), 1.0);
  EXPECT_NE(msg.find("30 s, the server's Retry-After"), std::string::npos) << msg;
  EXPECT_EQ(slow_down.connections(), 1);
}

TEST(RemoteJudge, SequentialRequestsReuseOneKeepAliveConnection) {
  std::atomic<int> requests{0};
  RawServer server([&](balcap::test::RawConnection& s, int) {
    for (;;) {  // several requests on this connection, until the client closes it
      auto request = s.read_request();
      ++requests;
      json body = json::parse(request.body);
      json choices = json::array();
      for (size_t i = 0; i < body["prompt"].size(); ++i) choices.push_back({{"index", i}, {"text", "k"}});
      s.reply(200, json{{"choices", choices}}.dump(), {}, /*keep_alive=*/true);
    }
  });
  auto config = remote_config(server);
  config.cache = false;
  RemoteJudge judge("j", config);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(judge.generate(kTwo, 3 + i).size(), 2u);
  EXPECT_EQ(requests.load(), 4);
  EXPECT_EQ(server.connections(), 1);
}

TEST(RemoteJudge, ClientErrorsAreNotRetried) {
  RawServer server([](balcap::test::RawConnection& s, int) {
    RawServer::read_request(s);
    RawServer::reply(s, 404, R"({"error":{"message":"The model `tinyy` does not exist."}})");
  });
  RemoteJudge judge("j", remote_config(server));
  std::string msg = judge_error_of([&] { judge.generate(kTwo, 4); });
  EXPECT_NE(msg.find("HTTP 404"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  EXPECT_EQ(server.connections(), 1);
}

TEST(RemoteJudge, CacheHitAvoidsASecondRequest) {
  RawServer server([](balcap::test::RawConnection& s, int) { answer_completions(s); });
  auto config = remote_config(server);
  RemoteJudge judge("j", config);
  auto first = judge.generate(kTwo, 4);
  EXPECT_EQ(judge.generate(kTwo, 4), first);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(judge.cache_hits(), 2);
  judge.generate(kTwo, 5);  // different parameters: a new request
  EXPECT_EQ(server.connections(), 2);
  config.cache = false;
  RemoteJudge uncached("j", config);
  uncached.generate(kTwo, 4);
  uncached.generate(kTwo, 4);
  EXPECT_EQ(server.connections(), 4);
}

TEST(RemoteJudge, ConcurrencyBoundsRequestsInFlight) {
  std::atomic<int> in_flight{0}, peak{0};
  RawServer server([&](balcap::test::RawConnection& s, int) {
    auto request = RawServer::read_request(s);
    int now = ++in_flight;
    for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    --in_flight;
    json body = json::parse(request.body);
    RawServer::reply(s, 200, json{{"choices", {{{"index", 0}, {"text", body["prompt"][0]}}}}}.dump());
  });
  auto config = remote_config(server);
  config.batch_size = 1;
  config.concurrency = 2;
  RemoteJudge judge("j", config);
  std::vector<JudgeRequest> six;
  for (int i = 0; i < 6; ++i) six.push_back({"s", "q" + std::to_string(i), {}});
  auto out = judge.generate(six, 4);
  for (int i = 0; i < 6; ++i) EXPECT_NE(out[i].find("q" + std::to_string(i)), std::string::npos);
  EXPECT_EQ(server.connections(), 6);
  EXPECT_EQ(peak.load(), 2);
}

TEST(RemoteJudge, EmptyModelNameAsksTheServerAndRefusesAmbiguity) {
  RawServer one([](balcap::test::RawConnection& s, int index) {
    if (index == 0) {
      RawServer::read_request(s);
      RawServer::reply(s, 200, R"({"object":"list","data":[{"id":"served-judge","object":"model"}]})");
      return;
    }
    auto request = RawServer::read_request(s);
    EXPECT_EQ(json::parse(request.body)["model"], "served-judge");
    RawServer::reply(s, 200, R"({"choices":[{"index":0,"text":"ok"}]})");
  });
  auto config = remote_config(one);
  config.model_name = "";
  EXPECT_EQ(RemoteJudge("j", config).generate({kTwo[0]}, 2)[0], "ok");
  RawServer two([](balcap::test::RawConnection& s, int) {
    RawServer::read_request(s);
    RawServer::reply(s, 200, R"({"data":[{"id":"a"},{"id":"b"}]})");
  });
  config.url = two.url();
  std::string msg = judge_error_of([&] { RemoteJudge("j", config).generate({kTwo[0]}, 2); });
  EXPECT_NE(msg.find("lists 2 model(s) [a, b]"), std::string::npos) << msg;
}

TEST(RemoteJudge, ApiKeyIsSentAsBearerButNeverLoggedOrInErrors) {
  const std::string secret = "sk-balcap-test-5ecret";
  ::setenv("BALCAP_TEST_JUDGE_KEY", secret.c_str(), 1);
  std::atomic<int> authorised{0};
  RawServer server([&](balcap::test::RawConnection& s, int) {
    auto request = RawServer::read_request(s);
    if (request.headers.get("Authorization") == "Bearer " + secret) ++authorised;
    RawServer::reply(s, 500, R"({"error":{"message":"boom"}})");
  });
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  auto config = remote_config(server);
  config.api_key_env = "BALCAP_TEST_JUDGE_KEY";
  std::string msg = judge_error_of([&] { RemoteJudge("j", config).generate(kTwo, 4); });
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_EQ(authorised.load(), 3);
  EXPECT_NE(log.str().find("retrying"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find(secret), std::string::npos);
  EXPECT_EQ(msg.find(secret), std::string::npos);
  ::unsetenv("BALCAP_TEST_JUDGE_KEY");
  try {
    RemoteJudge("j", config);
    FAIL() << "unset key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("BALCAP_TEST_JUDGE_KEY"), std::string::npos);
  }
}

TEST(RemoteJudge, ImagesNeedAVisionChatJudge) {
  RawServer server([](balcap::test::RawConnection& s, int) { answer_completions(s); });
  RemoteJudge judge("j", remote_config(server));
  EXPECT_THROW(judge.generate({{"s", "u", std::string("x.png")}}, 2), Error);
  auto config = remote_config(server);
  config.vision = true;
  EXPECT_THROW(RemoteJudge("j", config), Error);  // vision needs api: chat
}

std::string loopback(int port) { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }

TEST(RemoteJudge, ServerDownForTheWholeRunFailsAfterItsRetriesNamingTheJudgeAndUrl) {
  const int port = test::refused_port();
  auto config = test::quick_remote(loopback(port));
  config.backoff_s = 0.05;
  RemoteJudge judge("claims", config);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = judge_error_of([&] { judge.generate(kTwo, 4); });
  const double elapsed = seconds_since(t0);
  for (const std::string& part : {std::string("judge 'claims'"), loopback(port) + "/completions",
                                  std::string("failed after 3 attempt(s)"), std::string("connection refused"),
                                  std::string("HINT: check that the judge server is running and reachable")}) {
    EXPECT_NE(msg.find(part), std::string::npos) << part << " in: " << msg;
  }
  EXPECT_GE(elapsed, 0.05 + 0.1);  // it waited between attempts
  EXPECT_LT(elapsed, 1.5);
}

TEST(RemoteJudge, ServerThatDiesMidRunFailsTheNextCallAndIsUsedAgainOnceBack) {
  auto first = std::make_unique<test::CompletionsServer>();
  const int port = first->server.port();
  auto config = test::quick_remote(first->server.url());
  config.max_retries = 1;
  RemoteJudge judge("j", config);
  EXPECT_EQ(judge.generate(kTwo, 4).size(), 2u);
  first.reset();  // the server dies between two calls
  EXPECT_NE(judge_error_of([&] { judge.generate(kTwo, 5); }).find("connection refused"), std::string::npos);

  // It comes back on the same port while a patient judge is still retrying.
  config.max_retries = 8;
  config.backoff_s = 0.1;
  RemoteJudge patient("j", config);
  std::unique_ptr<test::CompletionsServer> back;
  std::string restart_error;
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    try {
      back = std::make_unique<test::CompletionsServer>(port);
    } catch (const std::exception& e) {
      restart_error = e.what();
    }
  });
  std::vector<std::string> out;
  try {
    out = patient.generate(kTwo, 6);
  } catch (const JudgeError& e) {
    ADD_FAILURE() << e.what();
  }
  restart.join();
  ASSERT_TRUE(back) << restart_error;
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(back->requests.load(), 1);  // the attempts before it came back were refused
}

TEST(RemoteJudge, SlowReplyBeyondTheTimeoutIsCutAndTheRetryAnswers) {
  RawServer server([](balcap::test::RawConnection& s, int index) {
    auto request = s.read_request();
    if (index == 0) std::this_thread::sleep_for(std::chrono::milliseconds(700));  // the client gave up at 0.2 s
    s.reply(200, test::completions_reply(json::parse(request.body)).dump());
  });
  auto config = remote_config(server);
  config.timeout_s = 0.2;
  config.max_retries = 1;
  config.backoff_s = 0.05;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(RemoteJudge("j", config).generate(kTwo, 4).size(), 2u);
  const double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.2 + 0.05);
  EXPECT_LT(elapsed, 0.7);  // it did not wait for the slow reply
  EXPECT_EQ(server.connections(), 2);
}

// parallel_for starts no new request once one failed for good, so a dead server costs a call of many
// requests about one request's budget, not one per wave of `concurrency` requests.
TEST(RemoteJudge, ADeadServerFailsACallOfManyRequestsWithinAboutOneRequestsBudget) {
  RawServer server([](balcap::test::RawConnection& s, int) { RawServer::hang(s); });
  auto config = remote_config(server);
  config.batch_size = 1;
  config.concurrency = 2;
  config.timeout_s = 0.2;
  config.max_retries = 1;
  config.backoff_s = 0.05;  // one request's budget: 0.2 + 0.05 + 0.2 s; six waves of two would take 2.7 s
  std::vector<JudgeRequest> twelve;
  for (int i = 0; i < 12; ++i) twelve.push_back({"s", "q" + std::to_string(i), {}});
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = judge_error_of([&] { RemoteJudge("j", config).generate(twelve, 4); });
  EXPECT_LT(seconds_since(t0), 1.2);
  EXPECT_NE(msg.find("timed out"), std::string::npos) << msg;
  EXPECT_LE(server.connections(), 4);
}

// Answers HTTP 429 (with `headers`) to its first `storm` requests, then like an OpenAI server.
struct RateLimitedServer {
  int storm;
  std::vector<std::string> headers;
  RawServer server;
  RateLimitedServer(int storm_size, std::vector<std::string> extra_headers)
      : storm(storm_size), headers(std::move(extra_headers)), server([this](balcap::test::RawConnection& s, int index) {
          auto request = s.read_request();
          if (index < storm) {
            s.reply(429, R"({"error":{"message":"rate limit exceeded"}})", headers);
            return;
          }
          s.reply(200, test::completions_reply(json::parse(request.body)).dump());
        }) {}
};

TEST(RemoteJudge, ARateLimitStormWithoutRetryAfterBacksOffUntilTheServerAnswers) {
  RateLimitedServer limited(5, {});
  auto config = remote_config(limited.server);
  config.max_retries = 6;
  config.backoff_s = 0.02;  // 0.02 + 0.04 + 0.08 + 0.16 + 0.32 s (+ up to 25%)
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(RemoteJudge("j", config).generate(kTwo, 4).size(), 2u);
  const double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.62);
  EXPECT_LT(elapsed, 2.0);
  EXPECT_EQ(limited.server.connections(), 6);
}

TEST(RemoteJudge, ARateLimitStormWithRetryAfterWaitsWhatTheServerAsksEachTime) {
  RateLimitedServer limited(3, {"Retry-After: 0.3"});
  auto config = remote_config(limited.server);
  config.max_retries = 5;
  config.backoff_s = 0.001;  // the backoff alone would be over in ~10 ms
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(RemoteJudge("j", config).generate(kTwo, 4).size(), 2u);
  const double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.9);
  EXPECT_LT(elapsed, 2.0);
  EXPECT_EQ(limited.server.connections(), 4);
}

TEST(RemoteJudge, ARateLimitStormOnConcurrentRequestsIsRiddenOutByEachRequest) {
  RateLimitedServer limited(12, {});
  auto config = remote_config(limited.server);
  config.batch_size = 1;
  config.concurrency = 4;
  config.max_retries = 12;  // one request may meet every 429 of the storm
  config.backoff_s = 0.01;
  config.total_timeout_s = 30;
  std::vector<JudgeRequest> eight;
  for (int i = 0; i < 8; ++i) eight.push_back({"s", "q" + std::to_string(i), {}});
  EXPECT_EQ(RemoteJudge("j", config).generate(eight, 4).size(), 8u);
  EXPECT_EQ(limited.server.connections(), 12 + 8);
}

TEST(RemoteJudge, ARateLimitStormThatNeverEndsFailsLoudlyNamingTheJudgeAndTheRateLimit) {
  RateLimitedServer limited(1000, {});
  auto config = remote_config(limited.server);
  config.max_retries = 3;
  RemoteJudge judge("rated", config);
  const std::string msg = judge_error_of([&] { judge.generate(kTwo, 4); });
  for (const std::string& part :
       {std::string("judge 'rated'"), limited.server.url("/v1/completions"), std::string("failed after 4 attempt(s)"),
        std::string("HTTP 429"), std::string("rate limit exceeded"), std::string("HINT: the server kept rate-limiting"),
        std::string("rewards.judges.rated.concurrency")}) {
    EXPECT_NE(msg.find(part), std::string::npos) << part << " in: " << msg;
  }
  EXPECT_EQ(limited.server.connections(), 4);
}

TEST(RemoteJudge, AReplyWithoutWhatWasAskedIsRetriedAndTheNextOneIsUsed) {
  RawServer server([](balcap::test::RawConnection& s, int index) {
    auto request = s.read_request();
    if (index == 0) {
      s.reply(200, R"({"object":"error","message":"upstream timed out"})");  // a proxy's 200
      return;
    }
    s.reply(200, test::completions_reply(json::parse(request.body)).dump());
  });
  EXPECT_EQ(RemoteJudge("j", remote_config(server)).choice_logprobs({kTwo[0]}, {"Yes", "No"}).size(), 1u);
  EXPECT_EQ(server.connections(), 2);
}

// Each reply is JSON but lacks what the judge asked for: retried, then a JudgeError with the reason.
TEST(RemoteJudge, RepliesThatNeverCarryWhatWasAskedFailLoudlyWithTheReason) {
  struct Case {
    std::string api, call, reply, reason, hint = "";  // hint: the reader's own HINT, passed on
  };
  const std::vector<Case> cases = {
      {"completions", "generate", R"({"id":"x"})", "reply has no 'choices' field", "is the server OpenAI-compatible?"},
      {"completions", "generate", R"({"choices":[{"index":0,"text":"a"}]})", "expected 2 choices (one per prompt), got 1"},
      {"completions", "generate", R"({"choices":[{"index":0,"text":null},{"index":1,"text":"b"}]})",
       "'text' is not text"},
      {"completions", "choices", R"({"choices":[{"index":0,"text":""}]})", "reply has no 'logprobs' field"},
      {"completions", "choices",
       R"({"choices":[{"index":0,"logprobs":{"token_logprobs":[null,-1.0],"text_offset":["0","9"]}}]})",
       "type must be number"},
      {"chat", "generate", R"({"choices":[{"message":{"role":"assistant","content":null}}]})", "'content' is not text"},
      {"chat", "choices", R"({"choices":[{"logprobs":{"content":[{"token":"Yes","top_logprobs":[]}]}}]})",
       "the first token has no top_logprobs", "(the server must support logprobs: true with top_logprobs"},
      {"chat", "choices",
       R"({"choices":[{"logprobs":{"content":[{"token":"Yes","top_logprobs":[{"token":"Yes","logprob":null}]}]}}]})",
       "is not {token, logprob}"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.api + " " + c.call + ": " + c.reply);
    RawServer server([&](balcap::test::RawConnection& s, int) {
      s.read_request();
      s.reply(200, c.reply);
    });
    auto config = remote_config(server);
    config.api = c.api;
    config.max_retries = 1;
    RemoteJudge judge("odd", config);
    const std::string msg = judge_error_of([&] {
      if (c.call == "generate") judge.generate(c.api == "chat" ? std::vector<JudgeRequest>{kTwo[0]} : kTwo, 4);
      if (c.call == "choices") judge.choice_logprobs({kTwo[0]}, {"Yes"});
    });
    for (const std::string& part : {std::string("judge 'odd'"), std::string("failed after 2 attempt(s)"),
                                    std::string("unusable reply"), c.reason, c.hint,
                                    std::string("HINT: the server at " + server.url() + " answers, but not in the "
                                                "OpenAI form balcap reads")}) {
      EXPECT_NE(msg.find(part), std::string::npos) << part << " in: " << msg;
    }
    EXPECT_EQ(server.connections(), 2);  // one request, tried twice
  }
}

}  // namespace
}  // namespace balcap::rewards
