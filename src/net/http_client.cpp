#include "net/http_client.h"

#include <algorithm>
#include <charconv>

namespace balcap::net {
namespace {

using Kind = NetError::Kind;

std::string seconds_text(double s) { return fmt::format("{:.3g} s", s); }

}  // namespace

std::string Url::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}{}", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port, path);
}

Url parse_url(std::string_view text) {
  const std::string hint = "HINT: write it as http://HOST:PORT/v1, e.g. http://127.0.0.1:8000/v1";
  Url url;
  auto scheme_end = text.find("://");
  BALCAP_CHECK(scheme_end != std::string_view::npos, "URL '{}' has no scheme\n{}", text, hint);
  url.scheme = std::string(text.substr(0, scheme_end));
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(), [](char c) { return std::tolower(c); });
  BALCAP_CHECK(url.scheme == "http",
               "URL '{}': scheme '{}' is not supported (plain http only)\nHINT: use http://, or reach an https "
               "endpoint through a TLS-terminating proxy or an SSH tunnel",
               text, url.scheme);
  std::string_view rest = text.substr(scheme_end + 3);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  url.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    BALCAP_CHECK(close != std::string_view::npos, "URL '{}': unterminated IPv6 address\n{}", text, hint);
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  BALCAP_CHECK(!url.host.empty(), "URL '{}' has no host\n{}", text, hint);
  if (!port_text.empty()) {
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), url.port);
    BALCAP_CHECK(ec == std::errc() && end == port_text.data() + port_text.size() && url.port > 0 && url.port < 65536,
                 "URL '{}': bad port '{}'\n{}", text, port_text, hint);
  }
  return url;
}

HttpResponse http_request(const Url& url, const std::string& method, const std::string& path, const Headers& headers,
                          const std::string& body, const HttpClientOptions& options) {
  const std::string where = fmt::format("{} {}{}", method, url.to_string(), path);
  Deadline deadline = deadline_after(options.timeout_s);
  Deadline connect_deadline = std::min(deadline, deadline_after(options.connect_timeout_s));
  Socket socket;
  try {
    socket = connect_tcp(url.host, url.port, connect_deadline, where);
  } catch (const NetError& e) {
    if (e.kind() != Kind::timeout) throw;
    throw NetError(Kind::timeout, fmt::format("{}: timed out after {} connecting",
                                              where, seconds_text(std::min(options.timeout_s, options.connect_timeout_s))));
  }
  HttpRequest request;
  request.method = method;
  request.target = url.path + path;
  request.headers = headers;
  request.headers.set("Connection", "close");
  request.body = body;
  bool v6 = url.host.find(':') != std::string::npos;
  std::string host_header = fmt::format("{}{}{}:{}", v6 ? "[" : "", url.host, v6 ? "]" : "", url.port);
  ReadLimits limits;
  limits.max_body_bytes = options.max_response_bytes;
  MessageReader reader(socket, limits);
  const char* stage = "sending the request";
  try {
    socket.write_all(serialize_request(request, host_header), deadline, "(sending the request)");
    stage = "waiting for the response";
    return reader.read_response(method, deadline, "(reading the response)");
  } catch (const NetError& e) {
    if (e.kind() == Kind::timeout) {
      throw NetError(Kind::timeout, fmt::format("{}: timed out after {} {}", where, seconds_text(options.timeout_s), stage));
    }
    throw NetError(e.kind(), fmt::format("{}: {}", where, e.what()));
  }
}

}  // namespace balcap::net
