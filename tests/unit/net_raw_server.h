#pragma once
// A scripted TCP server for fault tests (net and remote judge): every accepted connection runs
// `script(socket, index)` on its own thread, so a test can answer garbage, hang, drop the
// connection or reply after a delay. Reads and waits in a script end (NetError) when the server
// is destroyed, so a hanging script never outlives its test.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_message.h"
#include "net/socket.h"

namespace balcap::test {

class RawServer {
 public:
  using Script = std::function<void(net::Socket&, int index)>;

  explicit RawServer(Script script) : script_(std::move(script)) {
    listener_ = net::listen_tcp("127.0.0.1", 0);
    port_ = net::local_port(listener_);
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    listener_.set_wake_fd(wake_[0]);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~RawServer() {
    char b = 1;
    [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
    acceptor_.join();
    for (auto& t : threads_) t.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/v1") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return connections_; }

  // The next request on `socket` (throws NetError when the peer or the server goes away).
  static net::HttpRequest read_request(net::Socket& socket) {
    net::MessageReader reader(socket, {});
    auto request = reader.read_request(net::deadline_after(10), net::deadline_after(10));
    if (!request) throw net::NetError(net::NetError::Kind::closed, "client closed");
    return *request;
  }
  // Writes a complete response with a Content-Length body.
  static void reply(net::Socket& socket, int status, const std::string& body) {
    net::HttpResponse r;
    r.status = status;
    r.headers.set("Content-Type", "application/json");
    r.body = body;
    socket.write_all(net::serialize_response(r, true), net::deadline_after(10), "(test reply)");
  }
  // Blocks until the server is destroyed (a hanging peer).
  static void hang(net::Socket& socket) {
    char buf[256];
    for (;;) {
      if (socket.read_some(buf, sizeof(buf), net::deadline_after(60), "(hang)") == 0) return;
    }
  }

 private:
  void accept_loop() {
    for (;;) {
      try {
        if (!listener_.wait_readable(net::deadline_after(1))) continue;
      } catch (const net::NetError&) {
        return;
      }
      int fd = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) continue;
      int index = connections_++;
      threads_.emplace_back([this, fd, index] {
        net::Socket socket(fd);
        socket.set_wake_fd(wake_[0]);
        try {
          script_(socket, index);
        } catch (const std::exception&) {
          // the client went away or the server is stopping
        }
      });
    }
  }

  Script script_;
  net::Socket listener_;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> threads_;
};

}  // namespace balcap::test
