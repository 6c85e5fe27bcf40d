#pragma once
// A small HTTP/1.1 server: one acceptor thread hands connections to a fixed pool of worker
// threads; each worker serves one connection at a time (keep-alive until the client closes, says
// "Connection: close", or stays idle for idle_timeout_s). The handler runs on the worker thread
// (handlers must be thread-safe; a handler that throws yields a 500 with a JSON error). stop()
// wakes every blocked accept/read through a shutdown pipe and joins all threads.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_message.h"
#include "net/socket.h"

namespace balcap::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback only by default; 0.0.0.0 to serve other machines
  int port = 0;                     // 0 = any free port (see HttpServer::port())
  int threads = 4;                  // connections served at once
  ReadLimits limits;
  double read_timeout_s = 30.0;     // a request must arrive whole within this time
  double idle_timeout_s = 10.0;     // keep-alive connection closed after this long without a request
  double write_timeout_s = 30.0;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads; throws balcap::Error when the address cannot be bound.
  void start();
  // The bound port (after start()).
  int port() const { return port_; }
  const std::string& host() const { return options_.host; }
  // Idempotent; returns after every thread has finished (requests in progress complete first).
  void stop();

 private:
  void accept_loop();
  void worker_loop();
  void serve_connection(Socket socket);

  HttpServerOptions options_;
  HttpHandler handler_;
  Socket listener_;
  int port_ = 0;
  int wake_pipe_[2] = {-1, -1};  // [1] written once on stop(); [0] stays readable afterwards
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<int> pending_;  // accepted connection fds waiting for a worker
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

// A JSON response with `status` and Content-Type: application/json.
HttpResponse json_response(int status, std::string body);

}  // namespace balcap::net
