// https between serve's server and client: a self-signed certificate for 127.0.0.1 / localhost
// made by the test (openssl CLI), a TLS HttpServer, and the client that trusts it through
// `ca_file` (the judge's ssl_ca) and refuses it, with a TLS error and no retry, without.
#include <gtest/gtest.h>

#include "serve/http_client.h"
#include "serve/http_server.h"
#include "serve/retry.h"
#include "support/tls_cert.h"

namespace balcap::serve {
namespace {

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = test::make_self_signed_cert(test::scratch_dir());
    HttpServerOptions options;
    options.tls_cert = files_.cert.string();
    options.tls_key = files_.key.string();
    server_ = std::make_unique<HttpServer>(options, [](const HttpRequest& r) {
      return json_response(200, R"({"path":")" + r.path + R"("})");
    });
    server_->start();
  }
  std::string url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(server_->port()) + "/v1";
  }
  HttpClientOptions options(bool trust) const {
    HttpClientOptions o;
    o.timeout_s = 5;
    if (trust) o.ca_file = files_.cert.string();
    return o;
  }

  test::TlsFiles files_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(Tls, ClientWithTheCertificateAsCaConnects) {
  EXPECT_TRUE(server_->tls());
  EXPECT_EQ(server_->url().rfind("https://", 0), 0u);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    HttpClient client(url(host), options(true));
    auto r = client.request("POST", "/completions", {}, "{}");
    EXPECT_EQ(r.status, 200) << host;
    EXPECT_EQ(r.body, R"({"path":"/v1/completions"})") << host;
    EXPECT_EQ(client.request("GET", "/models", {}, "").status, 200) << host;  // again, on the same connection
  }
}

TEST_F(Tls, ClientWithoutItFailsWithATlsErrorAndDoesNotRetry) {
  HttpClient client(url(), options(false));
  try {
    client.request("GET", "/models", {}, "");
    ADD_FAILURE() << "an untrusted self-signed certificate was accepted";
  } catch (const TransportError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.kind(), TransportError::Kind::tls) << msg;
    EXPECT_NE(msg.find("GET " + url() + "/models: TLS error"), std::string::npos) << msg;
    EXPECT_NE(msg.find("certificate"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ssl_ca"), std::string::npos) << msg;
  }
  RetryPolicy policy;
  policy.max_retries = 3;
  policy.backoff_s = 0.01;
  try {
    send_with_retries(client, "GET", "/models", {}, "", policy,
                      [](const HttpResponse& r) { return status_verdict(r, "test"); });
    ADD_FAILURE() << "no RetryError";
  } catch (const RetryError& e) {
    EXPECT_EQ(e.reason(), RetryError::Reason::rejected);
    EXPECT_EQ(e.attempts(), 1);
    EXPECT_EQ(e.transport(), TransportError::Kind::tls);
  }
}

TEST_F(Tls, AMissingCaFileIsNamed) {
  HttpClientOptions o = options(false);
  o.ca_file = (test::scratch_dir() / "missing.pem").string();
  try {
    HttpClient(url(), o).request("GET", "/models", {}, "");
    ADD_FAILURE() << "no error";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), TransportError::Kind::tls) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace balcap::serve
