#pragma once
// The OpenAI-compatible API of `balcap serve` over a ServedModel (what the remote judge, vLLM
// clients and curl speak):
//   GET  /health                 {"status":"ok"}
//   GET  /v1/models              the one served model
//   POST /v1/completions         prompt (string or list), max_tokens (16), temperature (1; 0 =
//                                greedy), top_p, stop (string or list: single-token specials stop
//                                generation, other strings cut the text), n, seed, logprobs (int
//                                top-k, 0..20), echo (prompt + completion; prompt-token logprobs
//                                with the first null, as vLLM; text_offset in characters)
//   POST /v1/chat/completions    messages (one optional system + one user message; content a string
//                                or parts: text, image_url as a data: URL or a file path for vision
//                                models), max_tokens (256), temperature, top_p, n, seed, stop,
//                                logprobs (bool) + top_logprobs (0..20) in the OpenAI chat shape
// Errors: {"error": {"message", "type", "code"}} with 400 (bad request), 404 (unknown route or
// model), 405; 500 for internal failures. Model work is serialised (one request at a time).
#include <string>

#include <nlohmann/json.hpp>

#include "serve/http_server.h"
#include "serve/served_model.h"

namespace balcap::serve {

class OpenAiServer {
 public:
  OpenAiServer(ServedModel& model, std::string model_name) : model_(model), name_(std::move(model_name)) {}
  // Thread-safe: may be called from every server worker at once.
  HttpResponse handle(const HttpRequest& request);

 private:
  HttpResponse completions(const nlohmann::json& body);
  HttpResponse chat(const nlohmann::json& body);

  ServedModel& model_;
  std::string name_;
};

}  // namespace balcap::serve
