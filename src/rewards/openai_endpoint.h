#pragma once
// Private to src/rewards: The transport of the remote judge: JSON POSTs to an OpenAI-compatible server (vLLM, SGLang,
// `balcap serve`) over http or https (serve/http_client.h: libcurl, keep-alive, `ssl_ca`, the proxy
// from the environment) with a per-request timeout and serve/retry.h's retries (Retry-After,
// jittered exponential backoff, total_timeout_s), the API key from an environment variable (sent as
// "Authorization: Bearer", never logged or put in an error), and bounded concurrency for a batch of
// requests (parallel_for). Torch-free.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "config/judge.h"
#include "serve/http_client.h"
#include "serve/retry.h"

namespace balcap::rewards {

class OpenAiEndpoint {
 public:
  // Reads the key from config.api_key_env now: a named variable that is unset or empty ->
  // balcap::Error naming the variable (not its value). A bad url -> balcap::Error.
  OpenAiEndpoint(std::string judge_name, const config::JudgeConfig& config);

  // Reads what the caller needs out of a parsed 2xx reply; throws JudgeError (or a JSON type
  // error) when the reply lacks it.
  using Reader = std::function<void(const nlohmann::json&)>;

  // POST url + path with `body`; the parsed JSON reply of a 2xx, after `read` (when given) took
  // what it needs from it. Failures (transport errors, timeouts, 5xx / 408 / 429, a reply that is
  // not JSON or that `read` cannot use) are retried max_retries times, sleeping backoff_s,
  // 2 backoff_s, 4 backoff_s, ... (+ jitter; a 429/503 Retry-After instead), all within
  // total_timeout_s; then JudgeError naming the judge, the URL, the attempts, the last failure and a
  // hint fitting it. Other 4xx replies (bad model name, bad parameter) and TLS errors -> JudgeError at once.
  nlohmann::json post(const std::string& path, const nlohmann::json& body, const Reader& read = {}) const;
  nlohmann::json get(const std::string& path) const;

  // The `model` field to send: config.model_name, or the id of the server's only model
  // (GET /models, asked once; several models -> JudgeError listing them).
  std::string model() const;
  const std::string& url() const { return url_text_; }
  int64_t concurrency() const { return concurrency_; }

 private:
  nlohmann::json call(const std::string& method, const std::string& path, const std::string& body,
                      const Reader& read) const;
  // The JudgeError text for a call that failed for good; `reply_hint`: the HINT of the last reply
  // `read` could not use.
  std::string failure_text(const std::string& where, const serve::RetryError& e, const std::string& reply_hint) const;
  // What to do about a call that kept failing, by its last failure.
  std::string retry_hint(const std::string& failure, const std::string& reply_hint) const;

  std::string name_;
  std::string url_text_;
  std::unique_ptr<serve::HttpClient> client_;
  serve::RetryPolicy retry_;
  serve::Headers headers_;  // Content-Type and, with a key, Authorization
  int64_t concurrency_;
  std::string configured_model_;  // config.model_name
  mutable std::mutex model_mutex_;
  mutable std::string model_;  // the server's only model, once asked (guarded by model_mutex_)
};

// Runs task(0) .. task(n-1) on at most `concurrency` threads (the calling thread included) and
// rethrows the first exception once all have stopped (tasks not yet started are skipped).
void parallel_for(int64_t n, int64_t concurrency, const std::function<void(int64_t)>& task);

}  // namespace balcap::rewards
