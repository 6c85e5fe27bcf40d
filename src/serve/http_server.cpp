#include "serve/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/log.h"

namespace balcap::serve {
namespace {

// httplib takes timeouts as (seconds, microseconds).
template <class Setter>
void set_timeout(double seconds, Setter setter) {
  const double s = std::max(0.0, seconds);
  const auto whole = static_cast<time_t>(std::floor(s));
  setter(whole, static_cast<time_t>(std::llround((s - static_cast<double>(whole)) * 1e6)));
}

// The message for a refusal the library made before our handler ran.
std::string library_refusal(int status, const httplib::Request& request, size_t max_body_bytes) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 413: return fmt::format("request body over {} bytes", max_body_bytes);
    case 414: return "request target too long";
    case 404: return fmt::format("no route {} {}", request.method, request.path);
    default: return fmt::format("HTTP {}", status);
  }
}

}  // namespace

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

HttpResponse error_response(int status, const std::string& message) {
  const char* type = status == 404 ? "NotFoundError" : status >= 500 ? "InternalServerError" : "BadRequestError";
  nlohmann::json j = {{"error", {{"message", message}, {"type", type}, {"code", status}}}};
  return json_response(status, j.dump());
}

struct HttpServer::Impl {
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { stop(); }

std::string HttpServer::url() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", tls() ? "https" : "http", v6 ? "[" : "", options_.host, v6 ? "]" : "", port_);
}

namespace {

// An http server, or an https one with the certificate and key of `options`.
std::unique_ptr<httplib::Server> make_server(const HttpServerOptions& options) {
  if (options.tls_cert.empty()) return std::make_unique<httplib::Server>();
  for (const auto& [what, file] : {std::pair{"certificate", options.tls_cert}, std::pair{"key", options.tls_key}}) {
    BALCAP_CHECK(!file.empty() && std::filesystem::is_regular_file(file),
                 "TLS {} file '{}' does not exist\nHINT: pass both a PEM certificate and its private key", what, file);
  }
  auto server = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
  BALCAP_CHECK(server->is_valid(),
               "cannot load the TLS certificate '{}' with the key '{}'\nHINT: both must be PEM files and the key must "
               "match the certificate (unencrypted)",
               options.tls_cert, options.tls_key);
  // OpenSSL writes to the socket with write(): a client that goes away must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  return server;
}

void configure(httplib::Server& s, const HttpServerOptions& options) {
  const size_t threads = static_cast<size_t>(options.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  set_timeout(options.read_timeout_s, [&](time_t sec, time_t usec) { s.set_read_timeout(sec, usec); });
  set_timeout(options.write_timeout_s, [&](time_t sec, time_t usec) { s.set_write_timeout(sec, usec); });
  s.set_keep_alive_timeout(static_cast<time_t>(std::max(1.0, std::ceil(options.idle_timeout_s))));
  s.set_keep_alive_max_count(100000);
  s.set_payload_max_length(options.max_body_bytes);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second server bind
  // the same port and silently share its connections.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.set_tcp_nodelay(true);  // a reply's header and body go out at once (no 40 ms delayed-ACK stall)
  const size_t max_body = options.max_body_bytes;
  s.set_error_handler(httplib::Server::HandlerWithResponse([max_body](const httplib::Request& request,
                                                                      httplib::Response& response) {
    if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // the handler's own error
    HttpResponse e = error_response(response.status, library_refusal(response.status, request, max_body));
    response.set_content(e.body, "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
}

// Runs `handler` on one request: httplib's request in, httplib's response out.
void dispatch(const HttpHandler& handler, const httplib::Request& in, httplib::Response& out) {
  HttpRequest request;
  request.method = in.method;
  request.path = in.path;
  request.body = in.body;
  request.remote_addr = in.remote_addr;
  request.remote_port = in.remote_port;
  for (const auto& [k, v] : in.headers) request.headers.fields.emplace_back(k, v);
  HttpResponse response;
  try {
    response = handler(request);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", request.method, request.path, e.what());
    response = error_response(500, e.what());
  }
  out.status = response.status;
  std::string content_type = response.headers.get("Content-Type").value_or("application/json");
  for (const auto& [k, v] : response.headers.fields) {
    if (k != "Content-Type" && k != "Content-Length") out.set_header(k, v);
  }
  out.set_content(std::move(response.body), content_type);
}

}  // namespace

void HttpServer::start() {
  BALCAP_CHECK(!impl_, "the server is already started");
  BALCAP_CHECK(options_.threads >= 1, "server threads must be >= 1, got {}\nHINT: pass a positive thread count",
               options_.threads);
  auto impl = std::make_unique<Impl>();
  impl->server = make_server(options_);
  httplib::Server& s = *impl->server;
  configure(s, options_);
  auto route = [this](const httplib::Request& in, httplib::Response& out) { dispatch(handler_, in, out); };
  s.Get(".*", route).Post(".*", route).Put(".*", route).Patch(".*", route).Delete(".*", route).Options(".*", route);
  if (options_.port == 0) {
    port_ = s.bind_to_any_port(options_.host);
  } else {
    port_ = s.bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  BALCAP_CHECK(port_ > 0,
               "cannot listen on {}:{}\nHINT: is another server using that port? Pick another --port (0 = any free "
               "port), and a --host this machine has (127.0.0.1, 0.0.0.0)",
               options_.host, options_.port);
  httplib::Server* raw = impl->server.get();
  impl->thread = std::thread([raw] { raw->listen_after_bind(); });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!raw->is_running() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_ = std::move(impl);
  BALCAP_CHECK(raw->is_running(), "the server on {}:{} did not start", options_.host, port_);
}

void HttpServer::stop() {
  if (!impl_) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_.reset();
}

}  // namespace balcap::serve
