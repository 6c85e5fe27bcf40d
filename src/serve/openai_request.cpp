// Reading the request bodies of `balcap serve` (openai_request.h): fields, ranges, messages, image URLs.
#include "serve/openai_request.h"

#include <fmt/format.h>

#include <string_view>

namespace balcap::serve {
namespace {

using nlohmann::json;

constexpr int64_t kMaxTopLogprobs = 20;

template <typename... Args>
[[noreturn]] void bad_request(fmt::format_string<Args...> format, Args&&... args) {
  throw ApiError(400, fmt::format(format, std::forward<Args>(args)...));
}

// A number field within [lo, hi] or its default.
template <class T>
T number(const json& body, const char* key, T fallback, double lo, double hi) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  if (!body[key].is_number()) bad_request("'{}' must be a number, got {}", key, body[key].dump());
  double v = body[key].get<double>();
  if (v < lo || v > hi) bad_request("'{}' = {} is outside [{}, {}]", key, v, lo, hi);
  return body[key].get<T>();
}

std::vector<std::string> string_or_list(const json& body, const char* key) {
  std::vector<std::string> out;
  if (!body.contains(key) || body[key].is_null()) return out;
  const json& v = body[key];
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) bad_request("'{}' must be a string or a list of strings", key);
  for (const auto& s : v) {
    if (!s.is_string()) bad_request("'{}' must hold strings only (token-id prompts are not supported), got {}", key,
                                    s.dump().substr(0, 40));
    out.push_back(s.get<std::string>());
  }
  return out;
}

GenerationFields generation_fields(const json& body, int64_t default_max_tokens) {
  GenerationFields g;
  g.max_tokens = number<int64_t>(body, "max_tokens", default_max_tokens, 0, 1 << 20);
  g.temperature = number<double>(body, "temperature", 1.0, 0.0, 100.0);
  g.top_p = number<double>(body, "top_p", 1.0, 1e-9, 1.0);
  g.n = number<int64_t>(body, "n", 1, 1, 64);
  g.seed = number<uint64_t>(body, "seed", 0, 0, 1.8e19);
  g.stop = string_or_list(body, "stop");
  return g;
}

std::string base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = value(c);
    if (v < 0) bad_request("image_url: invalid base64 character '{}'", c);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// The messages of a chat request into `r`: text parts joined per role, image URLs of the user's.
void read_messages(const json& body, ChatRequest& r) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    bad_request("'messages' must be a non-empty list");
  }
  int users = 0;
  for (const auto& m : body["messages"]) {
    const std::string role = m.value("role", "");
    if (role != "system" && role != "user") {
      bad_request("message role '{}' is not supported: balcap serve takes one system and one user message", role);
    }
    std::string& text = role == "system" ? r.system : r.user;
    users += role == "user";
    const json& content = m.contains("content") ? m["content"] : json("");
    if (content.is_string()) {
      text += content.get<std::string>();
      continue;
    }
    if (!content.is_array()) bad_request("message content must be a string or a list of parts");
    for (const auto& part : content) {
      const std::string type = part.value("type", "");
      if (type == "text") {
        text += part.value("text", "");
      } else if (type == "image_url") {
        if (role != "user") bad_request("images go in the user message");
        const json& iu = part.contains("image_url") ? part["image_url"] : json(nullptr);
        r.image_urls.push_back(iu.is_string() ? iu.get<std::string>() : iu.value("url", ""));
      } else {
        bad_request("content part type '{}' is not supported (text, image_url)", type);
      }
    }
  }
  if (users != 1) bad_request("{} user messages: balcap serve takes exactly one user message", users);
}

}  // namespace

CompletionRequest parse_completion_request(const json& body) {
  CompletionRequest r;
  if (!body.contains("prompt")) bad_request("'prompt' is required");
  r.prompts = string_or_list(body, "prompt");
  if (r.prompts.empty()) bad_request("'prompt' is empty");
  r.generation = generation_fields(body, 16);
  r.echo = body.value("echo", false);
  r.want_logprobs = body.contains("logprobs") && !body["logprobs"].is_null();
  r.top_logprobs = r.want_logprobs ? number<int64_t>(body, "logprobs", 0, 0, kMaxTopLogprobs) : 0;
  return r;
}

ChatRequest parse_chat_request(const json& body) {
  ChatRequest r;
  read_messages(body, r);
  r.generation = generation_fields(body, 256);
  if (r.generation.max_tokens < 1) bad_request("'max_tokens' must be at least 1");
  r.want_logprobs = body.value("logprobs", false);
  r.top_logprobs = r.want_logprobs ? number<int64_t>(body, "top_logprobs", 0, 0, kMaxTopLogprobs) : 0;
  return r;
}

vision::Image load_image_url(const std::string& url, int64_t max_pixels) {
  if (url.rfind("data:", 0) == 0) {
    auto comma = url.find(',');
    if (comma == std::string::npos || url.substr(0, comma).find(";base64") == std::string::npos) {
      bad_request("image_url: only base64 data: URLs are supported (data:image/png;base64,...)");
    }
    std::string bytes = base64_decode(std::string_view(url).substr(comma + 1));
    return vision::decode_image_bytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "image_url data",
                                      max_pixels);
  }
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    bad_request("image_url '{}': remote URLs are not fetched; send a data: URL or a file path on the server", url);
  }
  return vision::decode_image_file(url.rfind("file://", 0) == 0 ? url.substr(7) : url, max_pixels);
}

}  // namespace balcap::serve
