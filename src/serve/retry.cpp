#include "serve/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <random>
#include <thread>

namespace balcap::serve {
namespace {

std::string seconds_text(double s) { return fmt::format("{:.3g} s", s); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

double uniform01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

std::optional<double> retry_after_seconds(const HttpResponse& response) {
  auto value = response.headers.get("Retry-After");
  if (!value) return std::nullopt;
  std::string_view v = trim(*value);
  if (v.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(v.front()))) {
    double seconds = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec != std::errc() || end != v.data() + v.size() || !(seconds >= 0)) return std::nullopt;
    return seconds;
  }
  const std::string date(v);
  const time_t when = curl_getdate(date.c_str(), nullptr);  // an HTTP date
  if (when == -1) return std::nullopt;
  return std::max(0.0, std::difftime(when, std::time(nullptr)));
}

Verdict status_verdict(const HttpResponse& response, const std::string& where) {
  const int s = response.status;
  if (s / 100 == 2) return {};
  const bool retry = s >= 500 || s == 408 || s == 429;
  return {retry ? Verdict::Kind::retry : Verdict::Kind::reject,
          fmt::format("HTTP {} from {}: {}", s, where, response.body.substr(0, 300))};
}

HttpResponse send_with_retries(const HttpClient& client, const std::string& method, const std::string& path,
                               const Headers& headers, const std::string& body, const RetryPolicy& policy,
                               const std::function<Verdict(const HttpResponse&)>& check,
                               const std::function<void(const RetryNotice&)>& on_retry) {
  using Clock = std::chrono::steady_clock;
  const std::string where = method + " " + client.base_url() + path;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(policy.total_timeout_s));
  auto seconds_left = [&] { return std::chrono::duration<double>(deadline - Clock::now()).count(); };
  const int64_t attempts = policy.max_retries + 1;
  for (int64_t a = 1;; ++a) {
    std::string failure;
    std::optional<double> server_wait;
    std::optional<TransportError::Kind> transport;
    try {
      const double timeout = std::max(0.001, std::min(client.options().timeout_s, seconds_left()));
      HttpResponse r = client.request(method, path, headers, body, timeout);
      Verdict v = check(r);
      if (v.kind == Verdict::Kind::accept) return r;
      failure = std::move(v.failure);
      if (v.kind == Verdict::Kind::reject) throw RetryError(RetryError::Reason::rejected, a, failure, failure);
      if (r.status == 429 || r.status == 503) server_wait = retry_after_seconds(r);
    } catch (const TransportError& e) {
      failure = e.what();
      transport = e.kind();
      // A certificate the client does not trust stays untrusted: no retry.
      if (e.kind() == TransportError::Kind::tls) {
        throw RetryError(RetryError::Reason::rejected, a, failure, failure, transport);
      }
    }
    if (a >= attempts) {
      throw RetryError(RetryError::Reason::exhausted, a, failure,
                       fmt::format("{} failed after {} attempt(s); last failure: {}", where, a, failure), transport);
    }
    double wait = 0;
    if (server_wait) {
      wait = std::min(*server_wait, policy.max_retry_after_s);
    } else {
      wait = policy.backoff_s * std::ldexp(1.0, static_cast<int>(std::min<int64_t>(a - 1, 30)));
      wait *= 1.0 + 0.25 * uniform01();  // jitter: clients that failed together do not retry together
    }
    const double left = seconds_left();
    if (wait >= left) {
      throw RetryError(
          RetryError::Reason::out_of_time, a, failure,
          fmt::format("{} gave up after {} attempt(s): the next wait ({}{}) would pass the total limit of {} ({} "
                      "left); last failure: {}",
                      where, a, seconds_text(wait), server_wait ? ", the server's Retry-After" : "",
                      seconds_text(policy.total_timeout_s), seconds_text(std::max(0.0, left)), failure),
          transport);
    }
    if (on_retry) on_retry({a, attempts, failure, wait, server_wait.has_value()});
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

}  // namespace balcap::serve
