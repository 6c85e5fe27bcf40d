// serve's HTTP server (cpp-httplib) and client (libcurl) on loopback: round trips, keep-alive
// connection reuse, limits and JSON errors, stop(); and the client's errors against a scripted raw
// server (refused, stall -> timeout naming the URL, early close, garbage), the bodies it reads, the
// headers it sends and the proxy it takes from the environment. Every test takes well under 3 s.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "serve/http_client.h"
#include "serve/http_server.h"
#include "support/raw_http_server.h"

namespace balcap::serve {
namespace {

using test::RawConnection;
using test::RawServer;
using Kind = TransportError::Kind;

HttpResponse echo_handler(const HttpRequest& r) {
  HttpResponse out;
  out.headers.set("Content-Type", "text/plain");
  out.body = r.method + " " + r.path + " " + r.body;
  return out;
}

HttpClientOptions quick(double timeout_s = 2.0) {
  HttpClientOptions o;
  o.timeout_s = timeout_s;
  o.connect_timeout_s = timeout_s;
  return o;
}

std::string local_url(int port) { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Expects `fn` to throw TransportError of `kind` whose message contains every one of `parts`.
template <class Fn>
void expect_transport_error(Fn fn, Kind kind, std::vector<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const TransportError& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// Sends raw bytes to 127.0.0.1:port and returns the response (headers and Content-Length body).
std::string raw_exchange(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
    char buf[4096];
    auto complete = [&] {
      size_t end = out.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      size_t at = out.find("Content-Length: ");
      size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
      return out.size() >= end + 4 + length;
    };
    for (ssize_t n; !complete() && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(Url, HttpAndHttpsUrlsLoseTheirTrailingSlash) {
  EXPECT_EQ(check_base_url("http://judge-host:8000/v1/"), "http://judge-host:8000/v1");
  EXPECT_EQ(check_base_url("https://api.example.com/v1"), "https://api.example.com/v1");
  EXPECT_EQ(check_base_url("http://[::1]:9/x"), "http://[::1]:9/x");
}

TEST(Url, OtherSchemesBadPortsAndMissingSchemesAreRefusedWithAHint) {
  for (const char* bad : {"ftp://host/v1", "http://host:99999/v1", "127.0.0.1:8000"}) {
    try {
      check_base_url(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos) << e.what();
    }
  }
}

TEST(HttpServer, AnswersGetAndPostOnAFreeLoopbackPort) {
  HttpServer server({}, echo_handler);
  server.start();
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()));
  HttpClient client(local_url(server.port()), quick());
  auto get = client.request("GET", "/models", {}, "");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "GET /v1/models ");
  std::string big(300000, 'x');  // several reads on both sides
  auto post = client.request("POST", "/completions", {}, big);
  EXPECT_EQ(post.status, 200);
  EXPECT_TRUE(post.body == "POST /v1/completions " + big) << post.body.substr(0, 200);
  EXPECT_EQ(post.headers.get("content-type").value_or(""), "text/plain");
}

TEST(HttpServer, SequentialRequestsOfOneClientShareOneKeepAliveConnection) {
  std::mutex m;
  std::set<int> client_ports;  // one per TCP connection the server saw
  HttpServer server({}, [&](const HttpRequest& r) {
    std::lock_guard lock(m);
    client_ports.insert(r.remote_port);
    return json_response(200, "{}");
  });
  server.start();
  HttpClient client(local_url(server.port()), quick());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.request("POST", "/completions", {}, "{}").status, 200);
  std::lock_guard lock(m);
  EXPECT_EQ(client_ports.size(), 1u);
}

TEST(HttpServer, RejectsOversizedBodiesAndGarbageWithJsonErrors) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  HttpServer server(options, echo_handler);
  server.start();
  HttpClient client(local_url(server.port()), quick());
  auto big = client.request("POST", "/x", {}, std::string(101, 'a'));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("\"error\""), std::string::npos) << big.body;
  EXPECT_EQ(client.request("POST", "/x", {}, std::string(100, 'a')).status, 200);
  std::string reply = raw_exchange(server.port(), "NONSENSE\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"error\""), std::string::npos) << reply;
}

TEST(HttpServer, HandlerExceptionBecomesA500WithTheMessage) {
  HttpServer server({}, [](const HttpRequest&) -> HttpResponse { throw Error("model exploded"); });
  server.start();
  auto r = HttpClient(local_url(server.port()), quick()).request("GET", "/", {}, "");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("model exploded"), std::string::npos);
}

TEST(HttpServer, StopReturnsWithAnIdleConnectionOpenAndThenRefuses) {
  HttpServerOptions options;
  options.threads = 1;
  options.idle_timeout_s = 1;
  HttpServer server(options, echo_handler);
  server.start();
  const int port = server.port();
  HttpClient client(local_url(port), quick());
  EXPECT_EQ(client.request("GET", "/", {}, "").status, 200);  // the client keeps this connection open
  auto t0 = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(seconds_since(t0), 2.5);  // at most the idle timeout
  expect_transport_error([&] { HttpClient(local_url(port), quick()).request("GET", "/", {}, ""); }, Kind::refused,
                         {"connection refused"});
}

TEST(HttpServer, AnUnusablePortOrCertificateIsAClearError) {
  HttpServer first({}, echo_handler);
  first.start();
  HttpServerOptions taken;
  taken.port = first.port();
  HttpServer second(taken, echo_handler);
  try {
    second.start();
    ADD_FAILURE() << "bound a port in use";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
  }
  HttpServerOptions tls;
  tls.tls_cert = "/nonexistent/cert.pem";
  tls.tls_key = "/nonexistent/key.pem";
  EXPECT_THROW(HttpServer(tls, echo_handler).start(), Error);
}

TEST(HttpClient, RefusedConnectionNamesTheUrl) {
  int port;
  {
    HttpServer probe({}, echo_handler);
    probe.start();
    port = probe.port();
  }  // stopped: nothing listens there now
  expect_transport_error(
      [&] { HttpClient(local_url(port), quick()).request("POST", "/completions", {}, "{}"); }, Kind::refused,
      {"POST http://127.0.0.1:" + std::to_string(port) + "/v1/completions", "connection refused"});
}

TEST(HttpClient, StallingServerTimesOutAfterTheRequestTimeout) {
  RawServer server([](RawConnection& s, int) { s.hang(); });
  auto t0 = std::chrono::steady_clock::now();
  expect_transport_error(
      [&] { HttpClient(server.url(), quick(0.3)).request("POST", "/completions", {}, "{}"); }, Kind::timeout,
      {"timed out after 0.3 s waiting for the response", server.url("/v1/completions")});
  double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.29);
  EXPECT_LT(elapsed, 1.5);
}

TEST(HttpClient, ConnectionClosedMidBodyIsReported) {
  RawServer server([](RawConnection& s, int) {
    s.read_request();
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":");
  });
  expect_transport_error([&] { HttpClient(server.url(), quick()).request("GET", "/models", {}, ""); }, Kind::closed,
                         {"connection closed before the end of the response", "GET " + server.url("/v1/models")});
}

TEST(HttpClient, DroppedConnectionWithoutAResponseIsReported) {
  RawServer server([](RawConnection& s, int) { s.read_request(); });
  expect_transport_error([&] { HttpClient(server.url(), quick()).request("GET", "/models", {}, ""); }, Kind::closed,
                         {"connection closed before a response arrived"});
}

TEST(HttpClient, GarbageInsteadOfAStatusLineIsMalformed) {
  RawServer server([](RawConnection& s, int) {
    s.read_request();
    s.write("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  });
  expect_transport_error([&] { HttpClient(server.url(), quick()).request("GET", "/models", {}, ""); },
                         Kind::malformed, {"malformed response", server.url("/v1/models")});
}

TEST(HttpClient, ReadsChunkedAndReadUntilCloseBodies) {
  RawServer server([](RawConnection& s, int index) {
    s.read_request();
    if (index == 0) {
      s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    } else {
      s.write("HTTP/1.0 503 Busy\r\n\r\ntry later");
    }
  });
  HttpClient client(server.url(), quick());
  EXPECT_EQ(client.request("GET", "/", {}, "").body, "hello world");
  auto until_close = client.request("GET", "/", {}, "");
  EXPECT_EQ(until_close.status, 503);
  EXPECT_EQ(until_close.body, "try later");
}

TEST(HttpClient, SendsHeadersAndBodyAsGiven) {
  std::string seen;
  std::mutex m;
  RawServer server([&](RawConnection& s, int) {
    auto r = s.read_request();
    {
      std::lock_guard lock(m);
      seen = r.method + " " + r.target + " " + r.headers.get("authorization").value_or("-") + " " + r.body;
    }
    s.reply(200, "{}");
  });
  Headers h;
  h.set("Authorization", "Bearer k");
  EXPECT_EQ(HttpClient(server.url(), quick()).request("POST", "/chat/completions", h, "{\"a\":1}").body, "{}");
  std::lock_guard lock(m);
  EXPECT_EQ(seen, "POST /v1/chat/completions Bearer k {\"a\":1}");
}

TEST(HttpClient, ALargerBodyThanAllowedIsRefused) {
  RawServer server([](RawConnection& s, int) {
    s.read_request();
    s.reply(200, std::string(5000, 'x'));
  });
  HttpClientOptions small = quick();
  small.max_response_bytes = 1000;
  expect_transport_error([&] { HttpClient(server.url(), small).request("GET", "/", {}, ""); }, Kind::too_large,
                         {"over 1000 bytes"});
}

TEST(HttpClient, TakesTheHttpProxyFromTheEnvironment) {
  std::string target;
  std::mutex m;
  RawServer proxy([&](RawConnection& s, int) {
    auto r = s.read_request();
    {
      std::lock_guard lock(m);
      target = r.target;
    }
    s.reply(200, R"({"via":"proxy"})");
  });
  ::setenv("http_proxy", proxy.url("").c_str(), 1);
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  auto r = HttpClient("http://judge.invalid:8000/v1", quick()).request("GET", "/models", {}, "");
  ::unsetenv("http_proxy");
  EXPECT_EQ(r.body, R"({"via":"proxy"})");
  std::lock_guard lock(m);
  EXPECT_EQ(target, "http://judge.invalid:8000/v1/models");  // absolute form: a proxy request
}

}  // namespace
}  // namespace balcap::serve
