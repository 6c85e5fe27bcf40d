#pragma once
// The HTTP server of `balcap serve`, on cpp-httplib: a listening thread and a pool of worker
// threads (each serves one connection at a time, keep-alive until the client closes or stays idle),
// plain http or, with a certificate and key, https. Every request (any method, any path) goes to
// one handler that returns a status and a body; a handler that throws yields a 500 with a JSON
// error, and the library's own refusals (malformed request, body over the limit) get the same JSON
// error shape. stop() returns after the workers have finished their requests.
#include <functional>
#include <memory>
#include <string>

#include "serve/http_client.h"

namespace balcap::serve {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string: "/v1/completions"
  Headers headers;
  std::string body;
  std::string remote_addr;
  int remote_port = 0;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback only by default; 0.0.0.0 to serve other machines
  int port = 0;                     // 0 = any free port (see HttpServer::port())
  int threads = 4;                  // connections served at once (an open keep-alive connection holds one)
  size_t max_body_bytes = size_t{64} << 20;  // larger request bodies get a 413
  double read_timeout_s = 30.0;     // each read of a request
  double write_timeout_s = 30.0;
  double idle_timeout_s = 2.0;      // a keep-alive connection is closed after this long without a request
  std::string tls_cert;             // PEM certificate (chain) file: serve https; empty = http
  std::string tls_key;              // its PEM private key
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving; throws balcap::Error when the address cannot be bound or the TLS
  // certificate / key cannot be loaded.
  void start();
  int port() const { return port_; }  // the bound port (after start())
  const std::string& host() const { return options_.host; }
  bool tls() const { return !options_.tls_cert.empty(); }
  // "http://HOST:PORT" or "https://HOST:PORT".
  std::string url() const;
  // Idempotent; returns after every thread has finished.
  void stop();

 private:
  struct Impl;
  HttpServerOptions options_;
  HttpHandler handler_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// A response with `status`, Content-Type: application/json and `body`.
HttpResponse json_response(int status, std::string body);
// The OpenAI error object {"error": {"message", "type", "code"}} as a JSON response.
HttpResponse error_response(int status, const std::string& message);

}  // namespace balcap::serve
