#pragma once
// A scripted TCP server on raw POSIX sockets for fault tests (serve's client, the remote judge):
// every accepted connection runs `script(connection, index)` on its own thread, so a test can
// answer garbage, hang, drop the connection, reply after a delay or serve several requests on
// one keep-alive connection. Reads and waits in a script end (RawConnection::Closed) when the
// server is destroyed, so a hanging script never outlives its test. Test code only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cctype>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace balcap::test {

struct RawHeaders {
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<std::string> get(std::string_view name) const {
    for (const auto& [k, v] : fields) {
      if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return std::nullopt;
  }
};

struct RawRequest {
  std::string method, target;
  RawHeaders headers;
  std::string body;
};

// One accepted connection (blocking I/O through poll, interrupted by the server's wake pipe).
class RawConnection {
 public:
  struct Closed : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  RawConnection(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) {}
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // The next request (Content-Length bodies); Closed when the peer or the server goes away.
  RawRequest read_request() {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) fill();
    RawRequest r;
    std::string_view head(buffer_.data(), end);
    size_t line_end = head.find("\r\n");
    std::string_view first = head.substr(0, line_end);
    size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    r.method = std::string(first.substr(0, sp1));
    r.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
    while (line_end != std::string_view::npos) {
      size_t next = head.find("\r\n", line_end + 2);
      std::string_view line = head.substr(line_end + 2, next == std::string_view::npos ? next : next - line_end - 2);
      if (auto colon = line.find(':'); colon != std::string_view::npos) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        r.headers.fields.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      }
      line_end = next;
    }
    size_t length = std::stoul(r.headers.get("Content-Length").value_or("0"));
    buffer_.erase(0, end + 4);
    while (buffer_.size() < length) fill();
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }
  // A complete response with a Content-Length body (and "Connection: close" unless keep_alive).
  void reply(int status, const std::string& body, const std::vector<std::string>& extra_headers = {},
             bool keep_alive = false) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Type: application/json\r\n";
    for (const auto& h : extra_headers) out += h + "\r\n";
    if (!keep_alive) out += "Connection: close\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    write(out);
  }
  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        wait(POLLOUT);
        continue;
      }
      if (n <= 0) throw Closed("write failed");
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Blocks until the peer closes or the server is destroyed (a hanging peer).
  void hang() {
    for (;;) fill();
  }

 private:
  void wait(short events) {
    pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
      int n = ::poll(fds, 2, 60000);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || (fds[1].revents & POLLIN)) throw Closed("server stopping");
      return;
    }
  }
  void fill() {
    wait(POLLIN);
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) throw Closed("peer closed");
    buffer_.append(buf, static_cast<size_t>(n));
  }

  int fd_;
  int wake_fd_;
  std::string buffer_;
};

class RawServer {
 public:
  using Script = std::function<void(RawConnection&, int index)>;

  // port 0: any free port; a given port lets a test bring a server back where a stopped one was.
  explicit RawServer(Script script, int port = 0) : script_(std::move(script)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(listener_, 64) != 0) {
      ::close(listener_);
      throw std::runtime_error("RawServer: cannot listen on 127.0.0.1:" + std::to_string(port));
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("RawServer: pipe failed");
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~RawServer() {
    char b = 1;
    [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
    acceptor_.join();
    for (auto& t : threads_) t.join();
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/v1") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return connections_; }

  // The script helpers of the older socket-based tests.
  static RawRequest read_request(RawConnection& c) { return c.read_request(); }
  static void reply(RawConnection& c, int status, const std::string& body) { c.reply(status, body); }
  static void hang(RawConnection& c) { c.hang(); }

 private:
  void accept_loop() {
    for (;;) {
      pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(fds, 2, 1000) < 0 && errno != EINTR) return;
      if (fds[1].revents & POLLIN) return;
      if (!(fds[0].revents & POLLIN)) continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) continue;
      int index = connections_++;
      threads_.emplace_back([this, fd, index] {
        RawConnection connection(fd, wake_[0]);
        try {
          script_(connection, index);
        } catch (const std::exception&) {
          // the client went away or the server is stopping
        }
      });
    }
  }

  Script script_;
  int listener_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> threads_;
};

}  // namespace balcap::test
