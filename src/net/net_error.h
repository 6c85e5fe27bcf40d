#pragma once
// Network failures (HTTP client and server I/O). A NetError says what happened in words that name
// the URL or peer ("connection refused", "timed out after 2.0 s", "connection closed", "malformed
// response") and carries a Kind so callers (the remote judge) can decide whether to retry.
#include <string>

#include "core/error.h"

namespace balcap::net {

class NetError : public Error {
 public:
  enum class Kind {
    refused,    // nothing listening / host unreachable
    timeout,    // connect, write or read passed its deadline
    closed,     // the peer closed the connection before the message was complete
    malformed,  // bytes that are not HTTP/1.1 (bad status line, header, chunk size)
    too_large,  // a header or body over the configured limit
    other,      // any other socket error (errno text in the message)
  };
  NetError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace balcap::net
