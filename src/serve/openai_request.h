#pragma once
// Private to src/serve: the JSON bodies of POST /v1/completions and /v1/chat/completions
// (openai_server.h lists the fields) read into plain structs before any model work, every field
// checked: a bad one -> ApiError (answered 400) naming it; a field of the wrong JSON type throws
// nlohmann::json::exception, which OpenAiServer::handle also answers with 400. What needs the
// model (stop strings that are special tokens, tokenization) stays in openai_server.cpp. Torch-free.
//
//   ChatRequest r = parse_chat_request(json::parse(body));
//   for (const auto& url : r.image_urls) images.push_back(load_image_url(url));
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "vision/image.h"

namespace balcap::serve {

// A request the client got wrong: answered with `status` and the message.
struct ApiError : std::runtime_error {
  int status;
  ApiError(int s, const std::string& m) : std::runtime_error(m), status(s) {}
};

// The sampling fields of both endpoints, range-checked; absent or null -> the default.
struct GenerationFields {
  int64_t max_tokens = 0;   // [0, 2^20]; the default is the endpoint's (16 completions, 256 chat)
  double temperature = 1;   // [0, 100]; 0 = greedy
  double top_p = 1;         // [1e-9, 1]
  int64_t n = 1;            // [1, 64] samples per prompt
  uint64_t seed = 0;
  std::vector<std::string> stop;  // "stop": a string or a list of strings
};

struct CompletionRequest {
  std::vector<std::string> prompts;  // "prompt": a string or a non-empty list of strings
  GenerationFields generation;
  bool echo = false;
  bool want_logprobs = false;  // "logprobs" present and not null
  int64_t top_logprobs = 0;    // "logprobs": [0, 20]
};

struct ChatRequest {
  std::string system, user;             // one optional system and exactly one user message
  std::vector<std::string> image_urls;  // the user message's image_url parts, in order (load_image_url)
  GenerationFields generation;          // max_tokens >= 1
  bool want_logprobs = false;           // "logprobs": true
  int64_t top_logprobs = 0;             // "top_logprobs": [0, 20]
};

CompletionRequest parse_completion_request(const nlohmann::json& body);
ChatRequest parse_chat_request(const nlohmann::json& body);

// An image_url of a chat message: a base64 data: URL, or a file path (file:// or plain) on the
// server; http(s) URLs and malformed data URLs -> ApiError; undecodable images -> balcap::Error.
// max_pixels bounds the decoded image (vision::decode_image_bytes).
vision::Image load_image_url(const std::string& url, int64_t max_pixels = vision::kMaxImagePixels);

}  // namespace balcap::serve
