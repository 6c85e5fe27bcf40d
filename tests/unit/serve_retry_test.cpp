// serve's retry policy (send_with_retries) against scripted raw servers: jittered exponential
// backoff with measured gaps, Retry-After (seconds, HTTP dates, capped) honoured with the gap
// measured, total_timeout_s bounding waits and cutting a stalled attempt, statuses that are not
// retried, and replies the caller rejects (not JSON) retried.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <mutex>

#include "serve/retry.h"
#include "support/raw_http_server.h"

namespace balcap::serve {
namespace {

using test::RawConnection;
using test::RawServer;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

HttpClientOptions quick(double timeout_s = 2.0) {
  HttpClientOptions o;
  o.timeout_s = timeout_s;
  return o;
}

RetryPolicy policy(int64_t retries, double backoff_s, double total_s = 30) {
  RetryPolicy p;
  p.max_retries = retries;
  p.backoff_s = backoff_s;
  p.total_timeout_s = total_s;
  return p;
}

Verdict by_status(const HttpResponse& r) { return status_verdict(r, "test"); }

// A server that replies `status` (with `headers`) to the first `failures` requests, then 200 "ok";
// it records when each request arrived.
struct FlakyServer {
  std::mutex m;
  std::vector<double> arrivals;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  RawServer server;
  FlakyServer(int failures, int status, std::vector<std::string> headers)
      : server([this, failures, status, headers](RawConnection& s, int index) {
          s.read_request();
          {
            std::lock_guard lock(m);
            arrivals.push_back(seconds_since(t0));
          }
          if (index < failures) {
            s.reply(status, R"({"error":{"message":"busy"}})", headers);
          } else {
            s.reply(200, "ok");
          }
        }) {}
  std::vector<double> gaps() {
    std::lock_guard lock(m);
    std::vector<double> out;
    for (size_t i = 1; i < arrivals.size(); ++i) out.push_back(arrivals[i] - arrivals[i - 1]);
    return out;
  }
};

HttpResponse with_retry_after(const std::string& value) {
  HttpResponse r;
  r.status = 429;
  r.headers.set("Retry-After", value);
  return r;
}

TEST(Retry, RetryAfterReadsSecondsAndHttpDates) {
  EXPECT_EQ(retry_after_seconds(with_retry_after("3")), 3.0);
  EXPECT_EQ(retry_after_seconds(with_retry_after(" 1.5 ")), 1.5);
  EXPECT_FALSE(retry_after_seconds(with_retry_after("soon")).has_value());
  EXPECT_FALSE(retry_after_seconds(HttpResponse{}).has_value());
  std::time_t later = std::time(nullptr) + 100;
  char date[64];
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&later));
  auto seconds = retry_after_seconds(with_retry_after(date));
  ASSERT_TRUE(seconds.has_value()) << date;
  EXPECT_NEAR(*seconds, 100.0, 2.0);
}

TEST(Retry, FailuresBackOffExponentiallyWithBoundedJitter) {
  FlakyServer flaky(100, 503, {});
  HttpClient client(flaky.server.url(), quick());
  std::vector<RetryNotice> notices;
  try {
    send_with_retries(client, "POST", "/completions", {}, "{}", policy(3, 0.05), by_status,
                      [&](const RetryNotice& n) { notices.push_back(n); });
    ADD_FAILURE() << "no RetryError";
  } catch (const RetryError& e) {
    EXPECT_EQ(e.reason(), RetryError::Reason::exhausted);
    EXPECT_EQ(e.attempts(), 4);
    EXPECT_NE(std::string(e.what()).find("failed after 4 attempt(s)"), std::string::npos) << e.what();
    EXPECT_NE(e.failure().find("HTTP 503"), std::string::npos) << e.failure();
  }
  ASSERT_EQ(notices.size(), 3u);
  auto gaps = flaky.gaps();
  ASSERT_EQ(gaps.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const double base = 0.05 * (1 << k);
    EXPECT_GE(notices[k].wait_s, base);
    EXPECT_LE(notices[k].wait_s, base * 1.25);  // jitter: at most +25%
    EXPECT_FALSE(notices[k].retry_after);
    EXPECT_GE(gaps[k], base * 0.95) << "gap " << k;
    EXPECT_LT(gaps[k], base * 1.25 + 0.3) << "gap " << k;
  }
}

TEST(Retry, TooManyRequestsWaitsTheRetryAfterNotTheBackoff) {
  FlakyServer flaky(1, 429, {"Retry-After: 1"});
  HttpClient client(flaky.server.url(), quick());
  std::vector<RetryNotice> notices;
  auto r = send_with_retries(client, "GET", "/models", {}, "", policy(3, 0.01), by_status,
                             [&](const RetryNotice& n) { notices.push_back(n); });
  EXPECT_EQ(r.body, "ok");
  auto gaps = flaky.gaps();
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_GE(gaps[0], 1.0);  // measured between the two arrivals
  EXPECT_LT(gaps[0], 1.6);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_TRUE(notices[0].retry_after);
  EXPECT_EQ(notices[0].wait_s, 1.0);
}

TEST(Retry, ALongRetryAfterIsCappedAndAnUnreachableOneEndsTheCall) {
  FlakyServer flaky(1, 503, {"Retry-After: 30"});
  HttpClient client(flaky.server.url(), quick());
  RetryPolicy capped = policy(3, 0.01);
  capped.max_retry_after_s = 0.2;
  EXPECT_EQ(send_with_retries(client, "GET", "/", {}, "", capped, by_status).body, "ok");
  auto gaps = flaky.gaps();
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_GE(gaps[0], 0.2);
  EXPECT_LT(gaps[0], 0.8);

  FlakyServer slow(100, 429, {"Retry-After: 30"});
  HttpClient slow_client(slow.server.url(), quick());
  auto t0 = std::chrono::steady_clock::now();
  try {
    send_with_retries(slow_client, "GET", "/", {}, "", policy(3, 0.01, 5.0), by_status);
    ADD_FAILURE() << "no RetryError";
  } catch (const RetryError& e) {
    EXPECT_EQ(e.reason(), RetryError::Reason::out_of_time);
    EXPECT_EQ(e.attempts(), 1);
    EXPECT_NE(std::string(e.what()).find("30 s, the server's Retry-After"), std::string::npos) << e.what();
  }
  EXPECT_LT(seconds_since(t0), 1.0);
}

TEST(Retry, TotalTimeoutCutsAStalledAttemptAndBoundsTheCall) {
  RawServer stall([](RawConnection& s, int) { s.hang(); });
  HttpClient client(stall.url(), quick(10.0));  // each attempt alone could take 10 s
  auto t0 = std::chrono::steady_clock::now();
  try {
    send_with_retries(client, "POST", "/completions", {}, "{}", policy(5, 0.05, 0.5), by_status);
    ADD_FAILURE() << "no RetryError";
  } catch (const RetryError& e) {
    EXPECT_NE(e.failure().find("timed out after"), std::string::npos) << e.what();
    EXPECT_NE(e.failure().find(stall.url("/v1/completions")), std::string::npos) << e.what();
  }
  double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.45);
  EXPECT_LT(elapsed, 1.2);
}

TEST(Retry, ClientErrorsAreNotRetriedAndRejectedRepliesAre) {
  FlakyServer missing(100, 404, {});
  HttpClient client(missing.server.url(), quick());
  try {
    send_with_retries(client, "GET", "/", {}, "", policy(3, 0.01), by_status);
    ADD_FAILURE() << "no RetryError";
  } catch (const RetryError& e) {
    EXPECT_EQ(e.reason(), RetryError::Reason::rejected);
    EXPECT_EQ(e.attempts(), 1);
  }
  EXPECT_EQ(missing.server.connections(), 1);

  // 200s whose body the caller cannot use (here: not "ok") are retried like failures.
  FlakyServer garbage(2, 200, {});
  HttpClient garbage_client(garbage.server.url(), quick());
  auto usable = [](const HttpResponse& r) {
    return r.body == "ok" ? Verdict{} : Verdict{Verdict::Kind::retry, "not ok: " + r.body};
  };
  EXPECT_EQ(send_with_retries(garbage_client, "GET", "/", {}, "", policy(3, 0.01), usable).body, "ok");
  EXPECT_EQ(garbage.server.connections(), 3);
}

}  // namespace
}  // namespace balcap::serve
