// The HTTP/1.1 server and client on loopback: round trips, keep-alive, chunked bodies, limits,
// and the client's errors against a scripted raw server (refused, hang -> timeout, early close,
// malformed status line). Every test finishes in well under a second.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "net/http_client.h"
#include "net/http_server.h"
#include "unit/net_raw_server.h"

namespace balcap::net {
namespace {

using balcap::test::RawServer;
using Kind = NetError::Kind;

HttpResponse echo_handler(const HttpRequest& r) {
  HttpResponse out;
  out.headers.set("Content-Type", "text/plain");
  out.body = r.method + " " + r.target + " " + r.body;
  return out;
}

HttpClientOptions quick(double timeout_s = 2.0) {
  HttpClientOptions o;
  o.timeout_s = timeout_s;
  o.connect_timeout_s = timeout_s;
  return o;
}

Url local_url(int port) { return parse_url("http://127.0.0.1:" + std::to_string(port) + "/v1"); }

// Expects `fn` to throw NetError of `kind` whose message contains every one of `parts`.
template <class Fn>
void expect_net_error(Fn fn, Kind kind, std::vector<std::string> parts) {
  try {
    fn();
    FAIL() << "no exception";
  } catch (const NetError& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Url, ParsesHostPortAndPath) {
  Url u = parse_url("http://judge-host:8000/v1/");
  EXPECT_EQ(u.host, "judge-host");
  EXPECT_EQ(u.port, 8000);
  EXPECT_EQ(u.path, "/v1");
  EXPECT_EQ(parse_url("http://[::1]:9/x").host, "::1");
  EXPECT_EQ(parse_url("http://example.org").port, 80);
  EXPECT_EQ(parse_url("http://[::1]:9/x").to_string(), "http://[::1]:9/x");
}

TEST(Url, HttpsAndBadPortsAreRefusedWithAHint) {
  EXPECT_THROW(parse_url("https://api.example.com/v1"), Error);
  try {
    parse_url("http://host:99999/v1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad port '99999'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos);
  }
  EXPECT_THROW(parse_url("127.0.0.1:8000"), Error);
}

TEST(HttpServer, AnswersGetAndPostOnAFreeLoopbackPort) {
  HttpServer server({}, echo_handler);
  server.start();
  ASSERT_GT(server.port(), 0);
  auto get = http_request(local_url(server.port()), "GET", "/models", {}, "", quick());
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "GET /v1/models ");
  std::string big(300000, 'x');  // several reads on both sides
  auto post = http_request(local_url(server.port()), "POST", "/completions", {}, big, quick());
  EXPECT_EQ(post.body, "POST /v1/completions " + big);
  EXPECT_EQ(post.headers.get("content-type").value_or(""), "text/plain");
}

TEST(HttpServer, ServesSeveralRequestsOnOneKeepAliveConnection) {
  HttpServer server({}, echo_handler);
  server.start();
  Socket s = connect_tcp("127.0.0.1", server.port(), deadline_after(2), "test");
  std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  s.write_all(two, deadline_after(2), "test");
  MessageReader reader(s, {});
  EXPECT_EQ(reader.read_response("GET", deadline_after(2), "test").body, "GET /a ");
  EXPECT_EQ(reader.read_response("POST", deadline_after(2), "test").body, "POST /b abc");
}

TEST(HttpServer, ReadsAChunkedRequestBody) {
  HttpServer server({}, echo_handler);
  server.start();
  Socket s = connect_tcp("127.0.0.1", server.port(), deadline_after(2), "test");
  s.write_all("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n",
              deadline_after(2), "test");
  MessageReader reader(s, {});
  auto r = reader.read_response("POST", deadline_after(2), "test");
  EXPECT_EQ(r.body, "POST /c abcde");
  EXPECT_EQ(r.headers.get("Connection").value_or(""), "close");
}

TEST(HttpServer, RejectsOversizedBodiesAndGarbageWithJsonErrors) {
  HttpServerOptions options;
  options.limits.max_body_bytes = 100;
  HttpServer server(options, echo_handler);
  server.start();
  auto big = http_request(local_url(server.port()), "POST", "/x", {}, std::string(101, 'a'), quick());
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("\"error\""), std::string::npos);
  Socket s = connect_tcp("127.0.0.1", server.port(), deadline_after(2), "test");
  s.write_all("NONSENSE\r\n\r\n", deadline_after(2), "test");
  MessageReader reader(s, {});
  EXPECT_EQ(reader.read_response("GET", deadline_after(2), "test").status, 400);
}

TEST(HttpServer, HandlerExceptionBecomesA500WithTheMessage) {
  HttpServer server({}, [](const HttpRequest&) -> HttpResponse { throw Error("model exploded"); });
  server.start();
  auto r = http_request(local_url(server.port()), "GET", "/", {}, "", quick());
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("model exploded"), std::string::npos);
}

TEST(HttpServer, StopUnblocksIdleConnectionsAndBusyWorkers) {
  HttpServerOptions options;
  options.threads = 1;
  options.idle_timeout_s = 60;
  HttpServer server(options, echo_handler);
  server.start();
  Socket idle = connect_tcp("127.0.0.1", server.port(), deadline_after(2), "test");  // occupies the one worker
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  expect_net_error([&] { http_request(local_url(server.port()), "GET", "/", {}, "", quick()); }, Kind::refused,
                   {"connection refused"});
}

TEST(HttpClient, RefusedConnectionNamesTheUrl) {
  int port;
  {
    Socket probe = listen_tcp("127.0.0.1", 0);
    port = local_port(probe);
  }  // closed: nothing listens there now
  expect_net_error([&] { http_request(local_url(port), "POST", "/completions", {}, "{}", quick()); }, Kind::refused,
                   {"POST http://127.0.0.1:" + std::to_string(port) + "/v1/completions", "connection refused"});
}

TEST(HttpClient, HangingServerTimesOutAfterTheRequestTimeout) {
  RawServer server([](Socket& s, int) { RawServer::hang(s); });
  auto t0 = std::chrono::steady_clock::now();
  expect_net_error([&] { http_request(local_url(server.port()), "POST", "/completions", {}, "{}", quick(0.3)); },
                   Kind::timeout, {"timed out after 0.3 s waiting for the response", server.url("/v1/completions")});
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(elapsed, 0.29);
  EXPECT_LT(elapsed, 1.5);
}

TEST(HttpClient, ConnectionClosedMidBodyIsReported) {
  RawServer server([](Socket& s, int) {
    RawServer::read_request(s);
    s.write_all("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":", deadline_after(2), "test");
  });
  expect_net_error([&] { http_request(local_url(server.port()), "GET", "/models", {}, "", quick()); }, Kind::closed,
                   {"connection closed after 11 of 100 body bytes"});
}

TEST(HttpClient, DroppedConnectionWithoutAResponseIsReported) {
  RawServer server([](Socket& s, int) { RawServer::read_request(s); });
  expect_net_error([&] { http_request(local_url(server.port()), "GET", "/models", {}, "", quick()); }, Kind::closed,
                   {"connection closed before the end of the headers"});
}

TEST(HttpClient, GarbageStatusLineIsMalformed) {
  RawServer server([](Socket& s, int) {
    RawServer::read_request(s);
    s.write_all("SSH-2.0-OpenSSH_9.2\r\n\r\n", deadline_after(2), "test");
  });
  expect_net_error([&] { http_request(local_url(server.port()), "GET", "/models", {}, "", quick()); }, Kind::malformed,
                   {"bad status line 'SSH-2.0-OpenSSH_9.2'"});
}

TEST(HttpClient, ReadsChunkedAndReadUntilCloseBodies) {
  RawServer server([](Socket& s, int index) {
    RawServer::read_request(s);
    if (index == 0) {
      s.write_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
                  deadline_after(2), "test");
    } else {
      s.write_all("HTTP/1.0 503 Busy\r\n\r\ntry later", deadline_after(2), "test");
    }
  });
  auto chunked = http_request(local_url(server.port()), "GET", "/", {}, "", quick());
  EXPECT_EQ(chunked.body, "hello world");
  auto until_close = http_request(local_url(server.port()), "GET", "/", {}, "", quick());
  EXPECT_EQ(until_close.status, 503);
  EXPECT_EQ(until_close.reason, "Busy");
  EXPECT_EQ(until_close.body, "try later");
}

TEST(HttpClient, SendsHeadersAndBodyAsGiven) {
  std::string seen;
  std::mutex m;
  RawServer server([&](Socket& s, int) {
    auto r = RawServer::read_request(s);
    {
      std::lock_guard lock(m);
      seen = r.method + " " + r.target + " " + r.headers.get("authorization").value_or("-") + " " + r.body;
    }
    RawServer::reply(s, 200, "{}");
  });
  Headers h;
  h.set("Authorization", "Bearer k");
  EXPECT_EQ(http_request(local_url(server.port()), "POST", "/chat/completions", h, "{\"a\":1}", quick()).body, "{}");
  std::lock_guard lock(m);
  EXPECT_EQ(seen, "POST /v1/chat/completions Bearer k {\"a\":1}");
}

}  // namespace
}  // namespace balcap::net
