#pragma once
// The retry policy of the remote judge's requests: transport errors, 408 / 429 / 5xx and replies
// the caller rejects (e.g. not JSON) are retried; a 429 or 503 with Retry-After waits what the
// server asks (capped), other failures wait with jittered exponential backoff; and the whole call
// (attempts and waits) ends within a total time limit.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "serve/http_client.h"

namespace balcap::serve {

struct RetryPolicy {
  int64_t max_retries = 3;          // attempts = 1 + max_retries
  double backoff_s = 1.0;           // wait before retry k (k = 1, 2, ...): backoff_s * 2^(k-1), plus 0..25% jitter
  double total_timeout_s = 300.0;   // the whole call (attempts and waits) ends within this
  double max_retry_after_s = 60.0;  // a longer Retry-After is cut to this
};

// What the caller makes of a reply that arrived.
struct Verdict {
  enum class Kind { accept, retry, reject } kind = Kind::accept;
  std::string failure;  // retry / reject: what is wrong, for the log and the final error
};
// The usual HTTP verdict: 2xx accept; 408, 429 and 5xx retry; any other status reject.
Verdict status_verdict(const HttpResponse& response, const std::string& where);

// A call that failed for good.
class RetryError : public Error {
 public:
  enum class Reason {
    rejected,     // a reply the caller rejected, or a TLS error (not retried)
    exhausted,    // every attempt failed
    out_of_time,  // the next wait would pass total_timeout_s
  };
  RetryError(Reason reason, int64_t attempts, std::string failure, const std::string& message,
             std::optional<TransportError::Kind> transport = std::nullopt)
      : Error(message), reason_(reason), attempts_(attempts), failure_(std::move(failure)), transport_(transport) {}
  Reason reason() const { return reason_; }
  int64_t attempts() const { return attempts_; }
  const std::string& failure() const { return failure_; }  // the last attempt's failure
  // The last failure's kind when it was a transport error (a TLS error is rejected at once).
  std::optional<TransportError::Kind> transport() const { return transport_; }

 private:
  Reason reason_;
  int64_t attempts_;
  std::string failure_;
  std::optional<TransportError::Kind> transport_;
};

// About to wait before the next attempt (for the caller's log).
struct RetryNotice {
  int64_t failed_attempt = 0;  // 1-based
  int64_t attempts = 0;        // 1 + max_retries
  std::string failure;
  double wait_s = 0;
  bool retry_after = false;  // the wait is the server's Retry-After
};

// Sends the request until `check` accepts a reply, following `policy` (see RetryPolicy).
// Retried: transport errors and replies `check` calls retry. A 429 or 503 with Retry-After
// (seconds or an HTTP date) waits that long (capped at max_retry_after_s) instead of the backoff.
// Throws RetryError (its message: the request, the attempts and the last failure).
HttpResponse send_with_retries(const HttpClient& client, const std::string& method, const std::string& path,
                               const Headers& headers, const std::string& body, const RetryPolicy& policy,
                               const std::function<Verdict(const HttpResponse&)>& check,
                               const std::function<void(const RetryNotice&)>& on_retry = {});

// Seconds the server asks to wait (Retry-After: "3", "1.5" or an HTTP date); nullopt when absent
// or unreadable.
std::optional<double> retry_after_seconds(const HttpResponse& response);

}  // namespace balcap::serve
