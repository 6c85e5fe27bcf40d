#include "net/http_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace balcap::net {
namespace {

// The OpenAI error shape, used for transport-level failures too.
HttpResponse error_response(int status, const std::string& message) {
  nlohmann::json j = {{"error", {{"message", message}, {"type", status >= 500 ? "server_error" : "invalid_request_error"},
                                 {"code", status}}}};
  return json_response(status, j.dump());
}

}  // namespace

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  BALCAP_CHECK(options_.threads >= 1, "server threads must be >= 1, got {}\nHINT: pass a positive thread count",
               options_.threads);
  listener_ = listen_tcp(options_.host, options_.port);
  port_ = local_port(listener_);
  BALCAP_CHECK(::pipe2(wake_pipe_, O_CLOEXEC) == 0, "cannot create the server's shutdown pipe: {}",
               std::strerror(errno));
  listener_.set_wake_fd(wake_pipe_[0]);
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  acceptor_ = std::thread([this] { accept_loop(); });
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_pipe_[1] >= 0) {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(wake_pipe_[1], &byte, 1);
  }
  ready_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& w : workers_) w.join();
  workers_.clear();
  for (int fd : pending_) ::close(fd);
  pending_.clear();
  listener_.close();
  for (int& fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

void HttpServer::accept_loop() {
  while (!stopping_) {
    try {
      if (!listener_.wait_readable(deadline_after(1.0))) continue;
    } catch (const NetError&) {
      return;  // woken by stop()
    }
    int fd = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;  // EAGAIN (another wake-up), ECONNABORTED, EMFILE: keep serving
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(fd);
    }
    ready_.notify_one();
  }
}

void HttpServer::worker_loop() {
  for (;;) {
    int fd = -1;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      fd = pending_.front();
      pending_.pop_front();
    }
    try {
      serve_connection(Socket(fd));
    } catch (const std::exception& e) {
      spdlog::debug("connection dropped: {}", e.what());
    }
  }
}

void HttpServer::serve_connection(Socket socket) {
  socket.set_wake_fd(wake_pipe_[0]);
  MessageReader reader(socket, options_.limits);
  while (!stopping_) {
    std::optional<HttpRequest> request;
    HttpResponse response;
    bool close = false;
    try {
      request = reader.read_request(deadline_after(options_.idle_timeout_s), deadline_after(options_.read_timeout_s));
      if (!request) return;
    } catch (const NetError& e) {
      if (e.kind() == NetError::Kind::closed || e.kind() == NetError::Kind::other) return;
      int status = e.kind() == NetError::Kind::too_large ? 413 : e.kind() == NetError::Kind::timeout ? 408 : 400;
      response = error_response(status, e.what());
      close = true;  // the stream position is unknown after a bad request
    }
    if (request) {
      try {
        response = handler_(*request);
      } catch (const std::exception& e) {
        spdlog::error("{} {}: {}", request->method, request->target, e.what());
        response = error_response(500, e.what());
      }
      close = !request->keep_alive();
    }
    socket.write_all(serialize_response(response, close), deadline_after(options_.write_timeout_s),
                     "writing the response");
    if (close) return;
  }
}

}  // namespace balcap::net
