#pragma once
// A TCP socket (POSIX, IPv4/IPv6 via getaddrinfo) with deadline-bounded I/O: every blocking
// operation polls until a steady-clock deadline, so no call hangs past its timeout. An optional
// "wake" fd (the server's shutdown pipe) interrupts waits: once it is readable, I/O fails with
// NetError::Kind::closed. Writes use MSG_NOSIGNAL (no SIGPIPE on a closed peer).
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "net/net_error.h"

namespace balcap::net {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// now + seconds (seconds <= 0 or huge -> effectively no limit).
Deadline deadline_after(double seconds);

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void close();
  // A readable wake fd makes every wait fail at once (server shutdown). -1 = none.
  void set_wake_fd(int fd) { wake_fd_ = fd; }

  // Up to `size` bytes; 0 = orderly close by the peer. Past the deadline -> NetError(timeout)
  // whose message names `what` (e.g. "waiting for the response from http://...").
  size_t read_some(char* data, size_t size, Deadline deadline, std::string_view what);
  void write_all(std::string_view bytes, Deadline deadline, std::string_view what);
  // Waits until readable; false when the deadline passed first (no exception).
  bool wait_readable(Deadline deadline);
  // poll() for `events` (POLLIN/POLLOUT) until the deadline; false on timeout. Throws when woken.
  bool wait_for(short events, Deadline deadline);

 private:
  int fd_ = -1;
  int wake_fd_ = -1;
};

// Connects to host:port before the deadline. Fails with NetError naming `where` (the URL):
// refused, timed out after N s, or the resolver's message for an unknown host.
Socket connect_tcp(const std::string& host, int port, Deadline deadline, std::string_view where);

// A listening socket on host:port (port 0 = a free port chosen by the kernel).
Socket listen_tcp(const std::string& host, int port, int backlog = 128);
// The local port a socket is bound to.
int local_port(const Socket& socket);

}  // namespace balcap::net
