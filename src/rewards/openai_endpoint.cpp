#include "rewards/openai_endpoint.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

#include "core/log.h"
#include "rewards/judge.h"

namespace balcap::rewards {
namespace {

// A failure worth another attempt (the server may recover) or not (the request itself is wrong).
struct Attempt {
  bool ok = false;
  bool retryable = true;
  std::string failure;
  nlohmann::json reply;
};

std::string server_message(const std::string& body) {
  try {
    auto j = nlohmann::json::parse(body);
    if (j.contains("error")) {
      const auto& e = j["error"];
      if (e.is_object() && e.contains("message")) return e["message"].get<std::string>();
      return e.dump();
    }
    if (j.contains("detail")) return j["detail"].dump();  // FastAPI-style validation errors
  } catch (const nlohmann::json::exception&) {
  }
  return body.substr(0, 300);
}

}  // namespace

OpenAiEndpoint::OpenAiEndpoint(std::string judge_name, const config::JudgeConfig& config)
    : name_(std::move(judge_name)),
      url_text_(config.url),
      max_retries_(config.max_retries),
      backoff_s_(config.backoff_s),
      concurrency_(config.concurrency),
      configured_model_(config.model_name) {
  BALCAP_CHECK(!config.url.empty(),
               "rewards.judges.{}: kind remote needs a url\nHINT: set url: http://HOST:PORT/v1 (e.g. a `balcap serve` "
               "or vLLM server)",
               name_);
  url_ = net::parse_url(config.url);
  while (!url_text_.empty() && url_text_.back() == '/') url_text_.pop_back();
  http_.timeout_s = config.timeout_s;
  http_.connect_timeout_s = std::min(config.timeout_s, 10.0);
  headers_.set("Content-Type", "application/json");
  headers_.set("Accept", "application/json");
  if (!config.api_key_env.empty()) {
    const char* key = std::getenv(config.api_key_env.c_str());
    BALCAP_CHECK(key && *key,
                 "rewards.judges.{}.api_key_env names the environment variable {}, which is not set or empty\n"
                 "HINT: export {}=<your key> before running, or set api_key_env: '' for a server without a key",
                 name_, config.api_key_env, config.api_key_env);
    headers_.set("Authorization", std::string("Bearer ") + key);
  }
}

nlohmann::json OpenAiEndpoint::call(const std::string& method, const std::string& path, const std::string& body) const {
  const std::string where = fmt::format("{} {}{}", method, url_text_, path);
  Attempt last;
  const int64_t attempts = max_retries_ + 1;
  for (int64_t a = 0; a < attempts; ++a) {
    if (a > 0) {
      double delay = backoff_s_ * static_cast<double>(int64_t{1} << std::min<int64_t>(a - 1, 30));
      spdlog::warn("judge '{}': attempt {}/{} failed ({}); retrying in {:.3g} s", name_, a, attempts, last.failure,
                   delay);
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    }
    last = Attempt{};
    try {
      net::HttpResponse r = net::http_request(url_, method, path, headers_, body, http_);
      if (r.status / 100 != 2) {
        last.failure = fmt::format("HTTP {} from {}: {}", r.status, where, server_message(r.body));
        last.retryable = r.status >= 500 || r.status == 408 || r.status == 429;
      } else {
        try {
          last.reply = nlohmann::json::parse(r.body);
          last.ok = true;
        } catch (const nlohmann::json::exception& e) {
          last.failure = fmt::format("malformed JSON from {}: {} (body starts '{}')", where, e.what(),
                                     r.body.substr(0, 80));
        }
      }
    } catch (const net::NetError& e) {
      last.failure = e.what();
    }
    if (last.ok) return std::move(last.reply);
    if (!last.retryable) {
      throw JudgeError(fmt::format(
          "judge '{}': {}\nHINT: the server refused the request itself (retrying will not help): check "
          "rewards.judges.{}.model_name and api, and that the server supports logprobs/echo",
          name_, last.failure, name_));
    }
  }
  throw JudgeError(fmt::format(
      "judge '{}': {} failed after {} attempt(s) (timeout {:.3g} s each, backoff from {:.3g} s doubling); last "
      "failure: {}\nHINT: check that the judge server is running and reachable at {} (e.g. `balcap serve --model "
      "DIR --port P`); raise rewards.judges.{}.timeout_s / max_retries for a slow server, or set "
      "rewards.on_judge_failure: invalid to mark these scores invalid instead of stopping",
      name_, where, attempts, http_.timeout_s, backoff_s_, last.failure, url_text_, name_));
}

nlohmann::json OpenAiEndpoint::post(const std::string& path, const nlohmann::json& body) const {
  return call("POST", path, body.dump());
}

nlohmann::json OpenAiEndpoint::get(const std::string& path) const { return call("GET", path, ""); }

std::string OpenAiEndpoint::model() const {
  if (!configured_model_.empty()) return configured_model_;
  std::call_once(model_once_, [this] {
    auto reply = get("/models");
    std::vector<std::string> ids;
    if (reply.contains("data") && reply["data"].is_array()) {
      for (const auto& m : reply["data"]) {
        if (m.contains("id") && m["id"].is_string()) ids.push_back(m["id"].get<std::string>());
      }
    }
    if (ids.size() != 1) {
      throw JudgeError(fmt::format(
          "judge '{}': model_name is empty and {}/models lists {} model(s) [{}]\nHINT: set "
          "rewards.judges.{}.model_name to the one to use",
          name_, url_text_, ids.size(), fmt::join(ids, ", "), name_));
    }
    model_ = ids[0];
  });
  return model_;
}

void parallel_for(int64_t n, int64_t concurrency, const std::function<void(int64_t)>& task) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first;
  std::mutex m;
  auto worker = [&] {
    for (int64_t i; !failed && (i = next++) < n;) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard lock(m);
        if (!first) first = std::current_exception();
        failed = true;
      }
    }
  };
  int64_t extra = std::min(concurrency, n) - 1;
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < extra; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace balcap::rewards
