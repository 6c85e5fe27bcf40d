#pragma once
// A blocking HTTP/1.1 client for plain http:// URLs: one connection per request
// ("Connection: close"), every step bounded by a deadline, errors that name the URL and what
// went wrong (refused, timed out after N s, connection closed, malformed response). Reads
// Content-Length, chunked and read-until-close bodies. https is refused with a hint (put a TLS
// terminating proxy or an SSH tunnel in front).
#include <string>
#include <string_view>

#include "net/http_message.h"

namespace balcap::net {

// http://host[:port][/path]  (IPv6 literal as http://[::1]:8000/v1)
struct Url {
  std::string scheme;  // "http"
  std::string host;
  int port = 80;
  std::string path;  // "" or "/v1" (no trailing slash)
  std::string to_string() const;
};

// Throws balcap::Error naming the text when it is not an http URL.
Url parse_url(std::string_view text);

struct HttpClientOptions {
  double connect_timeout_s = 10.0;  // also bounded by timeout_s
  double timeout_s = 60.0;          // the whole exchange: connect, send, wait, read
  size_t max_response_bytes = 512 * 1024 * 1024;
};

// Sends `method` to url.path + `path` (e.g. "/completions") and returns the response, whatever
// its status. Transport failures throw NetError (message: "POST http://h:p/v1/completions: ...").
HttpResponse http_request(const Url& url, const std::string& method, const std::string& path, const Headers& headers,
                          const std::string& body, const HttpClientOptions& options);

}  // namespace balcap::net
