#pragma once
// The HTTP client of the remote judge, on libcurl: http:// and https:// (system CA store, or the
// PEM file `ca_file`), keep-alive (each thread takes an easy handle from a small pool, so sequential
// requests reuse one connection), the proxy from the environment (http_proxy / https_proxy /
// no_proxy, read by libcurl), a connect timeout and a total timeout per request, and errors that
// name the request and what failed (refused, timed out after N s, connection closed, TLS error...).
// The retry policy on top of it: serve/retry.h. Headers are never logged (they may carry an API key).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace balcap::serve {

// Header fields in order; names keep their spelling, lookups ignore case.
struct Headers {
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<std::string> get(std::string_view name) const;
  void set(std::string name, std::string value);  // replaces an existing field of that name
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;
};

// A transport failure: nothing usable came back. The message names the request
// ("POST http://h:p/v1/completions: ...") and never a header value.
class TransportError : public Error {
 public:
  enum class Kind {
    refused,    // nothing listening / host unreachable / unknown host
    timeout,    // connect or the whole exchange passed its limit
    closed,     // the peer closed the connection before the response was complete
    malformed,  // bytes that are not an HTTP response
    tls,        // handshake or certificate verification failed
    too_large,  // a body over HttpClientOptions::max_response_bytes
    other,
  };
  TransportError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct HttpClientOptions {
  double connect_timeout_s = 10.0;  // also bounded by timeout_s
  double timeout_s = 60.0;          // the whole exchange: connect, TLS, send, wait, read
  std::string ca_file;              // PEM CA bundle for https; empty = the system's CAs
  size_t max_response_bytes = size_t{512} << 20;
};

// Checks an http(s) base URL ("http://judge-host:8000/v1"); throws Error with a hint otherwise.
// Returns it without trailing slashes.
std::string check_base_url(std::string_view url);

class HttpClient {
 public:
  // `base_url`: http(s)://host[:port][/path]; requests go to base_url + path.
  HttpClient(std::string base_url, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request, whatever the status of the reply; `timeout_s` (> 0) overrides options.timeout_s
  // for this request. Thread-safe. Transport failures throw TransportError.
  HttpResponse request(const std::string& method, const std::string& path, const Headers& headers,
                       const std::string& body, std::optional<double> timeout_s = std::nullopt) const;

  const std::string& base_url() const { return base_url_; }
  const HttpClientOptions& options() const { return options_; }

 private:
  struct Pool;
  std::string base_url_;
  HttpClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace balcap::serve
