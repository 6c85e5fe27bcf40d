// `balcap serve --model DIR --port P [--host 127.0.0.1] [--dtype float32|bfloat16] [--device cpu|cuda]
//  [--served-model-name NAME] [--threads N] [--tls-cert PEM --tls-key PEM] [--delay-ms MS]`
// An OpenAI-compatible server (serve/openai_server.h) over any checkpoint balcap loads, so a judge
// can run on other GPUs or machines (`kind: remote` judges, vLLM clients, curl). Prints
// "balcap serve: listening on http://HOST:PORT/v1" (https with a certificate) on stdout once ready
// (--port 0 picks a free port), runs until SIGINT/SIGTERM, then stops cleanly. docs/serve.md.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "serve/http_server.h"
#include "serve/openai_server.h"
#include "serve/served_model.h"
#include "commands.h"
#include "device_options.h"

namespace balcap::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1", dtype = "float32", device = "cpu", name, tls_cert, tls_key;
  int port = 8000;
  int threads = 16;  // >= the concurrency of the judges using it: each keeps its connections open
  int delay_ms = 0;  // added before every reply, outside the model lock: a remote API's latency
};

void run_serve(const ServeArgs& a) {
  const at::Device device = parse_device(a.device);
  std::string name = a.name.empty() ? std::filesystem::path(a.model).lexically_normal().filename().string() : a.name;
  if (name.empty()) name = std::filesystem::path(a.model).lexically_normal().parent_path().filename().string();
  if (a.tls_cert.empty() != a.tls_key.empty()) usage_fail("--tls-cert and --tls-key go together (a certificate and its key)");
  serve::ServedModel model(a.model, parse_dtype(a.dtype), device);
  serve::OpenAiServer api(model, name);
  // Block the stop signals before the server threads start (they inherit the mask), wait here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  serve::HttpServerOptions options;
  options.host = a.host;
  options.port = a.port;
  options.threads = a.threads;
  options.tls_cert = a.tls_cert;
  options.tls_key = a.tls_key;
  const std::chrono::milliseconds delay(a.delay_ms);
  serve::HttpServer server(options, [&api, delay](const serve::HttpRequest& r) {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);  // concurrent requests wait side by side
    return api.handle(r);
  });
  server.start();
  spdlog::info("serving {} ({}, {} on {})", name, a.model, a.dtype, device.str());
  std::cout << "balcap serve: listening on " << server.url() << "/v1" << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("signal {}: stopping", signal);
  server.stop();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible server (completions, chat, logprobs) over a checkpoint");
  cmd->add_option("--model", args->model, "Checkpoint directory (Qwen2, LLaMA, Qwen2.5-VL, LLaVA-1.5)")->required();
  cmd->add_option("--port", args->port, "TCP port; 0 = any free port (printed)")->capture_default_str();
  cmd->add_option("--host", args->host, "Address to bind; 0.0.0.0 serves other machines")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "Weight dtype: float32, bfloat16, float16")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--served-model-name", args->name, "The model id clients send (default: the directory name)");
  cmd->add_option("--threads", args->threads,
                  "Connections served at once; a remote judge keeps up to its `concurrency` open (model work is "
                  "serialised)")
      ->capture_default_str();
  cmd->add_option("--delay-ms", args->delay_ms,
                  "Wait this long before answering each request (requests wait in parallel): a fixed latency like "
                  "a hosted API's, for benchmarks of train.overlap_scoring")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--tls-cert", args->tls_cert, "PEM certificate (chain): serve https instead of http");
  cmd->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert");
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(50, serve);
