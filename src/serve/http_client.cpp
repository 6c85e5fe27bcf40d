#include "serve/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <mutex>

namespace balcap::serve {
namespace {

using Kind = TransportError::Kind;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string seconds_text(double s) { return fmt::format("{:.3g} s", s); }

// libcurl's process-wide state, set up once before the first handle (thread-safe static init).
void init_curl() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  BALCAP_CHECK(rc == CURLE_OK, "libcurl could not initialise: {}", curl_easy_strerror(rc));
}

struct Sink {
  HttpResponse* response;
  size_t max_bytes;
  bool over = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * n;
  if (sink->response->body.size() + bytes > sink->max_bytes) {
    sink->over = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->response->body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.fields.clear();  // a new response (after 100 Continue or a proxy's CONNECT reply)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    response->headers.fields.emplace_back(std::string(trim(line.substr(0, colon))),
                                          std::string(trim(line.substr(colon + 1))));
  }
  return size * n;
}

template <class T>
void setopt(CURL* h, CURLoption option, T value) {
  CURLcode rc = curl_easy_setopt(h, option, value);
  BALCAP_CHECK(rc == CURLE_OK, "libcurl option {} refused: {}", static_cast<int>(option), curl_easy_strerror(rc));
}

// What a transfer that failed had reached, for the error message.
struct Progress {
  curl_off_t connect_us = 0, tls_us = 0;  // 0 = not reached
  long header_bytes = 0, os_errno = 0;
  explicit Progress(CURL* h) {
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls_us);
    curl_easy_getinfo(h, CURLINFO_HEADER_SIZE, &header_bytes);
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  }
};

TransportError timeout_error(const Progress& p, const std::string& where, bool https, double timeout_s,
                             double connect_timeout_s) {
  if (p.connect_us == 0) {
    return {Kind::timeout, fmt::format("{}: timed out after {} connecting", where, seconds_text(connect_timeout_s))};
  }
  const char* stage = https && p.tls_us == 0 ? "during the TLS handshake"
                      : p.header_bytes == 0  ? "waiting for the response"
                                             : "reading the response";
  return {Kind::timeout, fmt::format("{}: timed out after {} {}", where, seconds_text(timeout_s), stage)};
}

// Certificate and handshake failures (not retried: an untrusted certificate stays untrusted).
std::optional<TransportError> tls_error(CURLcode code, const std::string& detail, const std::string& where,
                                        const std::string& ca_file) {
  switch (code) {
    case CURLE_SSL_CACERT_BADFILE:
      return TransportError(Kind::tls, fmt::format("{}: TLS error: cannot use the CA file '{}' ({})", where, ca_file,
                                                   detail));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
      return TransportError(
          Kind::tls, fmt::format("{}: TLS error: {} ({})", where, detail,
                                 ca_file.empty() ? "the certificate is checked against the system CAs; a server with "
                                                   "its own CA needs ssl_ca: its CA certificate file"
                                                 : "the certificate is checked against ssl_ca '" + ca_file + "'"));
    default:
      return std::nullopt;
  }
}

// The TransportError for a failed transfer, in words that say what went wrong and where.
TransportError transport_error(CURLcode code, CURL* h, const char* errbuf, const std::string& where, bool https,
                               double timeout_s, double connect_timeout_s, const HttpClientOptions& options,
                               bool over_limit) {
  const std::string detail = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(code));
  const Progress progress(h);
  if (auto tls = tls_error(code, detail, where, options.ca_file)) return *tls;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return timeout_error(progress, where, https, timeout_s, connect_timeout_s);
    case CURLE_COULDNT_CONNECT:
      if (progress.os_errno == ECONNREFUSED) return {Kind::refused, fmt::format("{}: connection refused", where)};
      return {Kind::refused, fmt::format("{}: cannot connect ({})", where, detail)};
    case CURLE_COULDNT_RESOLVE_HOST:
      return {Kind::refused, fmt::format("{}: unknown host ({})", where, detail)};
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
      return {Kind::refused, fmt::format("{}: the proxy from the environment (http_proxy / https_proxy) failed: {}",
                                         where, detail)};
    case CURLE_GOT_NOTHING:
      return {Kind::closed, fmt::format("{}: connection closed before a response arrived (empty reply)", where)};
    case CURLE_PARTIAL_FILE:
      return {Kind::closed, fmt::format("{}: connection closed before the end of the response ({})", where, detail)};
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      return {Kind::closed, fmt::format("{}: connection lost ({})", where, detail)};
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:  // "Received HTTP/0.9 when not allowed": bytes that are not HTTP
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return {Kind::malformed, fmt::format("{}: malformed response ({})", where, detail)};
    case CURLE_WRITE_ERROR:
      if (over_limit) {
        return {Kind::too_large, fmt::format("{}: response body over {} bytes", where, options.max_response_bytes)};
      }
      break;
    default:
      break;
  }
  return {Kind::other, fmt::format("{}: {}", where, detail)};
}

// Blocks SIGPIPE in this thread while libcurl runs: with CURLOPT_NOSIGNAL (needed for timeouts in
// threads) libcurl does not guard against it itself, and OpenSSL writes to a socket the server
// closed would kill the process. A SIGPIPE raised meanwhile is consumed before unblocking.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};


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

std::string check_base_url(std::string_view text) {
  const std::string hint = "HINT: write it as http://HOST:PORT/v1 or https://HOST/v1, e.g. http://127.0.0.1:8000/v1";
  std::string url(trim(text));
  while (!url.empty() && url.back() == '/') url.pop_back();
  init_curl();
  CURLU* u = curl_url();
  BALCAP_CHECK(u, "libcurl: out of memory parsing a URL");
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  std::string scheme;
  if (rc == CURLUE_OK) {
    char* s = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK) scheme = s;
    curl_free(s);
  }
  curl_url_cleanup(u);
  BALCAP_CHECK(url.find("://") != std::string::npos, "URL '{}' has no scheme\n{}", text, hint);
  BALCAP_CHECK(rc == CURLUE_OK, "URL '{}' is not a valid URL: {}\n{}", text, curl_url_strerror(rc), hint);
  BALCAP_CHECK(scheme == "http" || scheme == "https", "URL '{}': scheme '{}' is not supported (http or https)\n{}",
               text, scheme, hint);
  return url;
}

struct HttpClient::Pool {
  std::mutex mutex;
  std::vector<CURL*> idle;  // most recently used last: a thread's next request reuses its connection
  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
  CURL* take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    CURL* h = curl_easy_init();
    BALCAP_CHECK(h, "libcurl: cannot create a handle (out of memory?)");
    return h;
  }
  void give(CURL* h) {
    std::lock_guard lock(mutex);
    idle.push_back(h);
  }
};

HttpClient::HttpClient(std::string base_url, HttpClientOptions options)
    : base_url_(check_base_url(base_url)), options_(std::move(options)), pool_(std::make_unique<Pool>()) {}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& path, const Headers& headers,
                                 const std::string& body, std::optional<double> timeout_s) const {
  const std::string url = base_url_ + path;
  const std::string where = method + " " + url;
  const double total = timeout_s.value_or(options_.timeout_s);
  const double connect = std::min(options_.connect_timeout_s, total);
  const bool https = url.rfind("https://", 0) == 0;
  CURL* h = pool_->take();
  struct GiveBack {
    Pool& pool;
    CURL* h;
    curl_slist* list = nullptr;
    ~GiveBack() {
      curl_slist_free_all(list);
      pool.give(h);
    }
  } guard{*pool_, h};
  curl_easy_reset(h);  // options back to defaults; the handle keeps its open connections
  char errbuf[CURL_ERROR_SIZE] = "";
  HttpResponse response;
  Sink sink{&response, options_.max_response_bytes};
  auto ms = [](double s) { return static_cast<long>(std::max(1.0, std::ceil(s * 1000.0))); };
  setopt(h, CURLOPT_URL, url.c_str());
  setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  setopt(h, CURLOPT_NOSIGNAL, 1L);  // thread-safe timeouts
  setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms(connect));
  setopt(h, CURLOPT_TIMEOUT_MS, ms(total));
  setopt(h, CURLOPT_TCP_NODELAY, 1L);
  setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  if (!options_.ca_file.empty()) setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  setopt(h, CURLOPT_WRITEDATA, &sink);
  setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  setopt(h, CURLOPT_HEADERDATA, &response);
  for (const auto& [name, value] : headers.fields) {
    guard.list = curl_slist_append(guard.list, (name + ": " + value).c_str());
  }
  guard.list = curl_slist_append(guard.list, "Expect:");  // no 100-continue round trip for large bodies
  // No Content-Type unless the caller sets one (libcurl would send a form type for a POST body).
  if (!headers.get("Content-Type")) guard.list = curl_slist_append(guard.list, "Content-Type:");
  setopt(h, CURLOPT_HTTPHEADER, guard.list);
  if (method == "GET") {
    setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (method != "POST") setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    setopt(h, CURLOPT_POST, 1L);
    setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    setopt(h, CURLOPT_POSTFIELDS, body.data());
  }
  CURLcode code;
  {
    SigpipeBlock no_sigpipe;
    code = curl_easy_perform(h);
  }
  if (code != CURLE_OK) throw transport_error(code, h, errbuf, where, https, total, connect, options_, sink.over);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace balcap::serve
