#include "net/http_message.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace balcap::net {
namespace {

using Kind = NetError::Kind;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool contains_token(std::string_view list, std::string_view token) {
  std::string lower(list);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return std::tolower(c); });
  return lower.find(token) != std::string::npos;
}

[[noreturn]] void malformed(const std::string& what, const std::string& detail) {
  throw NetError(Kind::malformed, fmt::format("malformed HTTP message {}: {}", what, detail));
}

}  // namespace

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

void Headers::set(std::string name, std::string value) {
  for (auto& [k, v] : fields) {
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  fields.emplace_back(std::move(name), std::move(value));
}

std::string HttpRequest::path() const { return target.substr(0, target.find('?')); }

bool HttpRequest::keep_alive() const {
  auto connection = headers.get("Connection");
  if (version == "HTTP/1.0") return connection && contains_token(*connection, "keep-alive");
  return !(connection && contains_token(*connection, "close"));
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

bool MessageReader::fill(Deadline deadline, const std::string& what) {
  char chunk[16384];
  size_t n = socket_.read_some(chunk, sizeof(chunk), deadline, what);
  buffer_.append(chunk, n);
  return n > 0;
}

std::string MessageReader::read_line(Deadline deadline, const std::string& what, size_t& header_budget) {
  size_t scanned = 0;
  for (;;) {
    size_t nl = buffer_.find('\n', scanned);
    if (nl != std::string::npos) {
      if (nl + 1 > header_budget) {
        throw NetError(Kind::too_large, fmt::format("headers over {} bytes {}", limits_.max_header_bytes, what));
      }
      header_budget -= nl + 1;
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    scanned = buffer_.size();
    if (scanned > header_budget) {
      throw NetError(Kind::too_large, fmt::format("headers over {} bytes {}", limits_.max_header_bytes, what));
    }
    if (!fill(deadline, what)) {
      throw NetError(Kind::closed, fmt::format("connection closed before the end of the headers {}", what));
    }
  }
}

void MessageReader::read_headers(Headers& headers, Deadline deadline, const std::string& what) {
  for (;;) {
    std::string line = read_line(deadline, what, header_budget_);
    if (line.empty()) return;
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) malformed(what, fmt::format("header line without a name: '{}'", line));
    headers.fields.emplace_back(line.substr(0, colon), std::string(trim(std::string_view(line).substr(colon + 1))));
  }
}

std::string MessageReader::read_exact(size_t n, Deadline deadline, const std::string& what) {
  while (buffer_.size() < n) {
    if (!fill(deadline, what)) {
      throw NetError(Kind::closed, fmt::format("connection closed after {} of {} body bytes {}", buffer_.size(), n, what));
    }
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

std::string MessageReader::read_chunked(Deadline deadline, const std::string& what) {
  std::string body;
  for (;;) {
    size_t budget = limits_.max_header_bytes;
    std::string line = read_line(deadline, what, budget);
    std::string_view size_text = trim(std::string_view(line).substr(0, line.find(';')));
    size_t size = 0;
    auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || end != size_text.data() + size_text.size() || size_text.empty()) {
      malformed(what, fmt::format("bad chunk size line '{}'", line));
    }
    if (size == 0) break;
    if (body.size() + size > limits_.max_body_bytes) {
      throw NetError(Kind::too_large, fmt::format("body over {} bytes {}", limits_.max_body_bytes, what));
    }
    body += read_exact(size, deadline, what);
    if (!read_line(deadline, what, budget).empty()) malformed(what, "chunk data not followed by CRLF");
  }
  Headers trailers;  // read and dropped
  read_headers(trailers, deadline, what);
  return body;
}

std::string MessageReader::read_body(const Headers& headers, bool until_close, Deadline deadline,
                                     const std::string& what) {
  auto encoding = headers.get("Transfer-Encoding");
  if (encoding && contains_token(*encoding, "chunked")) return read_chunked(deadline, what);
  if (auto length = headers.get("Content-Length")) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    if (ec != std::errc() || end != length->data() + length->size()) {
      malformed(what, fmt::format("bad Content-Length '{}'", *length));
    }
    if (n > limits_.max_body_bytes) {
      throw NetError(Kind::too_large, fmt::format("body of {} bytes over the limit of {} {}", n, limits_.max_body_bytes, what));
    }
    return read_exact(n, deadline, what);
  }
  if (!until_close) return "";
  while (fill(deadline, what)) {
    if (buffer_.size() > limits_.max_body_bytes) {
      throw NetError(Kind::too_large, fmt::format("body over {} bytes {}", limits_.max_body_bytes, what));
    }
  }
  return std::exchange(buffer_, {});
}

std::optional<HttpRequest> MessageReader::read_request(Deadline first_byte, Deadline deadline) {
  const std::string what = "(reading the request)";
  while (buffer_.empty()) {
    if (!socket_.wait_readable(first_byte)) return std::nullopt;  // idle keep-alive connection
    if (!fill(deadline, what)) return std::nullopt;
  }
  header_budget_ = limits_.max_header_bytes;
  std::string line = read_line(deadline, what, header_budget_);
  HttpRequest request;
  auto sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) malformed(what, fmt::format("bad request line '{}'", line));
  request.method = line.substr(0, sp1);
  request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.version = line.substr(sp2 + 1);
  if (request.version != "HTTP/1.1" && request.version != "HTTP/1.0") {
    malformed(what, fmt::format("unsupported version '{}'", request.version));
  }
  read_headers(request.headers, deadline, what);
  request.body = read_body(request.headers, false, deadline, what);
  return request;
}

HttpResponse MessageReader::read_response(const std::string& method, Deadline deadline, const std::string& what) {
  header_budget_ = limits_.max_header_bytes;
  std::string line = read_line(deadline, what, header_budget_);
  // "HTTP/1.1 200 OK"
  HttpResponse response;
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12 || line[8] != ' ') {
    malformed(what, fmt::format("bad status line '{}'", line.substr(0, 80)));
  }
  auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, response.status);
  if (ec != std::errc() || end != line.data() + 12) malformed(what, fmt::format("bad status code in '{}'", line));
  response.reason = line.size() > 13 ? line.substr(13) : "";
  read_headers(response.headers, deadline, what);
  bool no_body = method == "HEAD" || response.status == 204 || response.status == 304 || response.status / 100 == 1;
  if (!no_body) response.body = read_body(response.headers, true, deadline, what);
  return response;
}

std::string serialize_request(const HttpRequest& request, std::string_view host_header) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", request.method, request.target);
  if (!request.headers.get("Host")) out += fmt::format("Host: {}\r\n", host_header);
  for (const auto& [k, v] : request.headers.fields) out += fmt::format("{}: {}\r\n", k, v);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    out += fmt::format("Content-Length: {}\r\n", request.body.size());
  }
  out += "\r\n";
  out += request.body;
  return out;
}

std::string serialize_response(const HttpResponse& response, bool close_connection) {
  std::string_view reason = response.reason.empty() ? reason_phrase(response.status) : response.reason;
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason);
  for (const auto& [k, v] : response.headers.fields) out += fmt::format("{}: {}\r\n", k, v);
  out += fmt::format("Content-Length: {}\r\n", response.body.size());
  if (close_connection) out += "Connection: close\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

}  // namespace balcap::net
