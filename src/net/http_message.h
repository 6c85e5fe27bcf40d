#pragma once
// HTTP/1.1 messages and their wire format: requests and responses with Content-Length bodies
// (and, when reading, `Transfer-Encoding: chunked`). Header names compare case-insensitively.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/socket.h"

namespace balcap::net {

// Header fields in arrival order; names keep their spelling, lookups ignore case.
struct Headers {
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<std::string> get(std::string_view name) const;
  void set(std::string name, std::string value);  // replaces an existing field of that name
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin form: "/v1/completions?x=1"
  std::string version = "HTTP/1.1";
  Headers headers;
  std::string body;
  // The target without its query string.
  std::string path() const;
  bool keep_alive() const;  // HTTP/1.1 default keep-alive unless "Connection: close"
};

struct HttpResponse {
  int status = 200;
  std::string reason;  // empty = the standard phrase for `status`
  Headers headers;
  std::string body;
};

// "OK", "Not Found", ... ("" for unknown codes).
std::string_view reason_phrase(int status);

// Size limits while reading a message.
struct ReadLimits {
  size_t max_header_bytes = 64 * 1024;      // request/status line + all header lines
  size_t max_body_bytes = 64 * 1024 * 1024;
};

// Reads messages from one socket, keeping bytes read past the end of a message for the next.
class MessageReader {
 public:
  MessageReader(Socket& socket, ReadLimits limits) : socket_(socket), limits_(limits) {}
  // The next request; nullopt when the peer closed cleanly before sending anything.
  // `first_byte` bounds the wait for the request to start (keep-alive idle time), `deadline`
  // the whole request. Bad syntax -> NetError(malformed), over a limit -> NetError(too_large).
  std::optional<HttpRequest> read_request(Deadline first_byte, Deadline deadline);
  // A response to a request with `method`; `what` names the URL in errors.
  HttpResponse read_response(const std::string& method, Deadline deadline, const std::string& what);

 private:
  std::string read_line(Deadline deadline, const std::string& what, size_t& header_budget);
  void read_headers(Headers& headers, Deadline deadline, const std::string& what);
  std::string read_body(const Headers& headers, bool until_close, Deadline deadline, const std::string& what);
  std::string read_exact(size_t n, Deadline deadline, const std::string& what);
  std::string read_chunked(Deadline deadline, const std::string& what);
  bool fill(Deadline deadline, const std::string& what);  // false on EOF

  Socket& socket_;
  ReadLimits limits_;
  std::string buffer_;
  size_t header_budget_ = 0;
};

// Wire bytes of a request (adds Content-Length when there is a body or the method is POST/PUT).
std::string serialize_request(const HttpRequest& request, std::string_view host_header);
// Wire bytes of a response (adds Content-Length and, if asked, "Connection: close").
std::string serialize_response(const HttpResponse& response, bool close_connection);

}  // namespace balcap::net
