#pragma once
// A self-signed certificate for 127.0.0.1 / localhost, made by the openssl CLI for TLS tests
// (the certificate doubles as its own CA: a client trusts it with ssl_ca pointing at it).
#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/test_support.h"

namespace balcap::test {

struct TlsFiles {
  std::filesystem::path cert, key;
};

inline TlsFiles make_self_signed_cert(const std::filesystem::path& dir) {
  TlsFiles f{dir / "cert.pem", dir / "key.pem"};
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 2 "
                          "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                          shell_quote(f.key.string()) + " -out " + shell_quote(f.cert.string());
  CommandResult r = run_command(cmd);
  if (r.exit_code != 0 || !std::filesystem::exists(f.cert)) {
    throw std::runtime_error("openssl could not make a test certificate: " + r.out + r.err +
                             "\nHINT: install the openssl CLI (scripts/bootstrap.sh)");
  }
  return f;
}

}  // namespace balcap::test
