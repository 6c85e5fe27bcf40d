#include "net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace balcap::net {
namespace {

using Kind = NetError::Kind;

std::string errno_text(int err) { return std::strerror(err); }

int poll_timeout_ms(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

}  // namespace

Deadline deadline_after(double seconds) {
  // ~30 years: "no limit" without overflowing the clock's representation.
  if (seconds <= 0 || seconds > 1e9) return Clock::now() + std::chrono::hours(24 * 365 * 30);
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

Socket::Socket(Socket&& other) noexcept : fd_(other.fd_), wake_fd_(other.wake_fd_) { other.fd_ = -1; }

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    wake_fd_ = other.wake_fd_;
    other.fd_ = -1;
  }
  return *this;
}

Socket::~Socket() { close(); }

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Socket::wait_for(short events, Deadline deadline) {
  for (;;) {
    pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, poll_timeout_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw NetError(Kind::other, "poll failed: " + errno_text(errno));
    if (wake_fd_ >= 0 && (fds[1].revents & POLLIN)) throw NetError(Kind::closed, "server shutting down");
    if (n == 0) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    return true;  // ready, or an error/hangup that the next read/write reports
  }
}

bool Socket::wait_readable(Deadline deadline) { return wait_for(POLLIN, deadline); }

size_t Socket::read_some(char* data, size_t size, Deadline deadline, std::string_view what) {
  for (;;) {
    ssize_t n = ::recv(fd_, data, size, MSG_DONTWAIT);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) throw NetError(Kind::closed, fmt::format("connection reset by peer {}", what));
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw NetError(Kind::other, fmt::format("read failed {}: {}", what, errno_text(errno)));
    }
    if (!wait_for(POLLIN, deadline)) throw NetError(Kind::timeout, fmt::format("timed out {}", what));
  }
}

void Socket::write_all(std::string_view bytes, Deadline deadline, std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) {
      throw NetError(Kind::closed, fmt::format("connection closed by peer {}", what));
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw NetError(Kind::other, fmt::format("write failed {}: {}", what, errno_text(errno)));
    }
    if (!wait_for(POLLOUT, deadline)) throw NetError(Kind::timeout, fmt::format("timed out {}", what));
  }
}

Socket connect_tcp(const std::string& host, int port, Deadline deadline, std::string_view where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    throw NetError(Kind::refused, fmt::format("{}: cannot resolve host '{}': {}", where, host, ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, &::freeaddrinfo);
  std::string last = "no address";
  Kind last_kind = Kind::refused;
  for (addrinfo* a = found; a; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!s.valid()) continue;
    set_nonblocking(s.fd());
    int one = 1;
    ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) == 0) return s;
    if (errno != EINPROGRESS) {
      last = errno == ECONNREFUSED ? "connection refused" : errno_text(errno);
      continue;
    }
    if (!s.wait_for(POLLOUT, deadline)) {
      last = "timed out connecting";
      last_kind = Kind::timeout;
      continue;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) return s;
    last = err == ECONNREFUSED ? "connection refused" : errno_text(err);
  }
  throw NetError(last_kind, fmt::format("{}: {}", where, last));
}

Socket listen_tcp(const std::string& host, int port, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  BALCAP_CHECK(rc == 0, "cannot resolve listen address '{}': {}\nHINT: pass --host 127.0.0.1 or 0.0.0.0", host,
               ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, &::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!s.valid()) continue;
    int one = 1;
    ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(s.fd(), backlog) != 0) {
      last = errno_text(errno);
      continue;
    }
    set_nonblocking(s.fd());
    return s;
  }
  fail("cannot listen on {}:{}: {}\nHINT: pick another --port (0 = any free port) or stop the process using it",
       host, port, last);
}

int local_port(const Socket& socket) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&addr), &len);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

}  // namespace balcap::net
