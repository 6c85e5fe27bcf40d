#include "rewards/openai_endpoint.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <exception>
#include <thread>
#include <vector>

#include "core/log.h"
#include "rewards/judge.h"

namespace balcap::rewards {
namespace {

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

// A reply `read` cannot use (a field missing, the wrong number of choices, no logprobs) is retried
// like malformed JSON: a proxy or an overloaded server can send one odd reply, and a server that
// never sends a usable one fails after the retries with read's message; `hint` gets read's HINT.
serve::Verdict read_verdict(const nlohmann::json& reply, const std::string& where, const OpenAiEndpoint::Reader& read,
                            std::string& hint) {
  if (!read) return {};
  std::string message;
  try {
    read(reply);
    return {};
  } catch (const JudgeError& e) {
    message = e.what();
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type
    message = e.what();
  }
  const auto at = message.find("\nHINT: ");
  hint = at == std::string::npos ? "" : message.substr(at + 7);  // after "\nHINT: "
  return {serve::Verdict::Kind::retry, fmt::format("unusable reply from {}: {}", where, message.substr(0, at))};
}

}  // namespace

OpenAiEndpoint::OpenAiEndpoint(std::string judge_name, const config::JudgeConfig& config)
    : name_(std::move(judge_name)), url_text_(config.url), concurrency_(config.concurrency),
      configured_model_(config.model_name) {
  BALCAP_CHECK(!config.url.empty(),
               "rewards.judges.{}: kind remote needs a url\nHINT: set url: http://HOST:PORT/v1 (e.g. a `balcap serve` "
               "or vLLM server)",
               name_);
  BALCAP_CHECK(config.ssl_ca.empty() || std::filesystem::is_regular_file(config.ssl_ca),
               "rewards.judges.{}.ssl_ca: no file '{}'\nHINT: point it at the PEM certificate of the CA that signed "
               "the server's certificate (or the server's self-signed certificate), or leave it empty for the "
               "system's CAs",
               name_, config.ssl_ca);
  serve::HttpClientOptions http;
  http.timeout_s = config.timeout_s;
  http.connect_timeout_s = std::min(config.timeout_s, 10.0);
  http.ca_file = config.ssl_ca;
  client_ = std::make_unique<serve::HttpClient>(config.url, http);
  url_text_ = client_->base_url();
  retry_.max_retries = config.max_retries;
  retry_.backoff_s = config.backoff_s;
  retry_.total_timeout_s = config.total_timeout_s;
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

nlohmann::json OpenAiEndpoint::call(const std::string& method, const std::string& path, const std::string& body,
                                    const Reader& read) const {
  const std::string where = fmt::format("{} {}{}", method, url_text_, path);
  nlohmann::json reply;
  std::string reply_hint;
  auto check = [&](const serve::HttpResponse& r) -> serve::Verdict {
    if (r.status / 100 != 2) {
      serve::Verdict v = serve::status_verdict(r, where);
      v.failure = fmt::format("HTTP {} from {}: {}", r.status, where, server_message(r.body));
      return v;
    }
    try {
      reply = nlohmann::json::parse(r.body);
    } catch (const nlohmann::json::exception& e) {
      return {serve::Verdict::Kind::retry,
              fmt::format("malformed JSON from {}: {} (body starts '{}')", where, e.what(), r.body.substr(0, 80))};
    }
    return read_verdict(reply, where, read, reply_hint);
  };
  auto log_retry = [&](const serve::RetryNotice& n) {
    spdlog::warn("judge '{}': attempt {}/{} failed ({}); retrying in {:.3g} s{}", name_, n.failed_attempt, n.attempts,
                 n.failure, n.wait_s, n.retry_after ? " (the server's Retry-After)" : "");
  };
  try {
    serve::send_with_retries(*client_, method, path, headers_, body, retry_, check, log_retry);
    return reply;
  } catch (const serve::RetryError& e) {
    throw JudgeError(failure_text(where, e, reply_hint));
  }
}

std::string OpenAiEndpoint::failure_text(const std::string& where, const serve::RetryError& e,
                                         const std::string& reply_hint) const {
  using Reason = serve::RetryError::Reason;
  if (e.reason() == Reason::rejected && e.transport() == serve::TransportError::Kind::tls) {
    return fmt::format("judge '{}': {}\nHINT: for a server whose certificate is not signed by a system CA, set "
                       "rewards.judges.{}.ssl_ca to its CA (or self-signed) certificate file; check that the url's "
                       "host matches the certificate",
                       name_, e.failure(), name_);
  }
  if (e.reason() == Reason::rejected) {
    return fmt::format(
        "judge '{}': {}\nHINT: the server refused the request itself (retrying will not help): check "
        "rewards.judges.{}.model_name and api, and that the server supports logprobs/echo",
        name_, e.failure(), name_);
  }
  if (e.reason() == Reason::out_of_time) {
    return fmt::format(
        "judge '{}': {}\nHINT: rewards.judges.{}.total_timeout_s ({:.3g} s) bounds a request's attempts and retry "
        "waits together: raise it to wait longer for a busy server; {}",
        name_, e.what(), name_, retry_.total_timeout_s, retry_hint(e.failure(), reply_hint));
  }
  return fmt::format(
      "judge '{}': {} failed after {} attempt(s) (timeout {:.3g} s each, backoff from {:.3g} s doubling); last "
      "failure: {}\nHINT: {}",
      name_, where, e.attempts(), client_->options().timeout_s, retry_.backoff_s, e.failure(),
      retry_hint(e.failure(), reply_hint));
}

std::string OpenAiEndpoint::retry_hint(const std::string& failure, const std::string& reply_hint) const {
  const std::string otherwise = "or set rewards.on_judge_failure: invalid to mark these scores invalid instead of "
                                "stopping";
  if (failure.rfind("HTTP 429", 0) == 0) {
    return fmt::format("the server kept rate-limiting (HTTP 429): lower rewards.judges.{}.concurrency or batch_size, "
                       "raise max_retries / backoff_s / total_timeout_s, {}",
                       name_, otherwise);
  }
  if (failure.rfind("malformed JSON", 0) == 0 || failure.rfind("unusable reply", 0) == 0) {
    return fmt::format("the server at {} answers, but not in the OpenAI form balcap reads{}: check that it is "
                       "OpenAI-compatible and returns logprobs (api: completions also needs the prompt's, with "
                       "echo: true), {}",
                       url_text_, reply_hint.empty() ? "" : " (" + reply_hint + ")", otherwise);
  }
  return fmt::format("check that the judge server is running and reachable at {} (e.g. `balcap serve --model DIR "
                     "--port P`); raise rewards.judges.{}.timeout_s / max_retries / total_timeout_s for a slow "
                     "server, {}",
                     url_text_, name_, otherwise);
}

nlohmann::json OpenAiEndpoint::post(const std::string& path, const nlohmann::json& body, const Reader& read) const {
  return call("POST", path, body.dump(), read);
}

nlohmann::json OpenAiEndpoint::get(const std::string& path) const { return call("GET", path, "", {}); }

std::string OpenAiEndpoint::model() const {
  if (!configured_model_.empty()) return configured_model_;
  // A mutex, not std::call_once: a failed GET (server down) throws, and an exception leaving
  // call_once leaves its flag locked where pthread_once cannot unwind (GCC bug 66146; it hung the
  // next record's call under ThreadSanitizer). Held across the GET: parallel requests ask once.
  std::lock_guard<std::mutex> lock(model_mutex_);
  if (model_.empty()) {
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
  }
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
