#pragma once
// A scripted OpenAI-compatible judge server on 127.0.0.1 (a RawServer) for the fault and replay
// tests of the remote judge: /v1/completions answers generation prompts with text made from the
// prompt, and echo requests with a log-probability made from the prompt + answer. Both are
// deterministic and the log-probabilities use all 53 bits of a double, so two runs can be compared
// bit for bit. Every request is counted; `failing` makes it answer 503 until cleared.
#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "config/judge.h"
#include "rewards/remote_judge.h"
#include "support/raw_http_server.h"

namespace balcap::rewards::test {

inline std::uint64_t text_hash(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The echoed log-probability of prompt + answer: an arbitrary double in (-6, 0).
inline double answer_logprob(const std::string& prompt_and_answer) {
  return -static_cast<double>(text_hash(prompt_and_answer) % 6000000007ull) / 1000000001.0 - 1e-9;
}

// The /v1/completions reply to `body`: generation (two claims, one of them made from the prompt) or
// echo scoring (the answer = what follows the assistant header is one token).
inline nlohmann::json completions_reply(const nlohmann::json& body) {
  using nlohmann::json;
  json choices = json::array();
  const bool echo = body.value("echo", false);
  for (std::size_t i = 0; i < body["prompt"].size(); ++i) {
    const std::string p = body["prompt"][i];
    if (!echo) {
      choices.push_back({{"index", i}, {"text", "- claim " + std::to_string(text_hash(p) % 97) + "\n- a red car"}});
      continue;
    }
    const std::string header = "<|im_start|>assistant\n";
    const std::size_t boundary = utf8_length(p.substr(0, p.rfind(header) + header.size()));
    choices.push_back({{"index", i},
                       {"logprobs", {{"tokens", json::array()},
                                     {"token_logprobs", {nullptr, answer_logprob(p), -9.0}},
                                     {"text_offset", {0, boundary, utf8_length(p)}}}}});
  }
  return {{"choices", choices}};
}

struct CompletionsServer {
  std::atomic<int> requests{0};
  std::atomic<bool> failing{false};
  balcap::test::RawServer server;

  explicit CompletionsServer(int port = 0)
      : server([this](balcap::test::RawConnection& c, int) { serve(c); }, port) {}

  void serve(balcap::test::RawConnection& c) {
    for (;;) {  // keep-alive: until the client closes the connection
      auto request = c.read_request();
      ++requests;
      if (failing) {
        c.reply(503, R"({"error":{"message":"judge overloaded"}})", {}, true);
        continue;
      }
      c.reply(200, completions_reply(nlohmann::json::parse(request.body)).dump(), {}, true);
    }
  }
};

// A remote judge config for a test server: quick retries, an explicit model name (no GET /models).
inline config::JudgeConfig quick_remote(const std::string& url) {
  config::JudgeConfig c;
  c.kind = "remote";
  c.url = url;
  c.model_name = "tiny";
  c.timeout_s = 2.0;
  c.max_retries = 2;
  c.backoff_s = 0.01;
  c.batch_size = 8;
  return c;
}

// A port where nothing listens (a server that was there has stopped): connections are refused.
inline int refused_port() {
  balcap::test::RawServer probe([](balcap::test::RawConnection&, int) {});
  return probe.port();
}

}  // namespace balcap::rewards::test
