#include "serve/openai_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace balcap::serve {
namespace {

using nlohmann::json;

constexpr int64_t kMaxTopLogprobs = 20;

// A request the client got wrong: answered with `status` and the message.
struct ApiError : std::runtime_error {
  int status;
  ApiError(int s, const std::string& m) : std::runtime_error(m), status(s) {}
};

template <typename... Args>
[[noreturn]] void bad_request(fmt::format_string<Args...> format, Args&&... args) {
  throw ApiError(400, fmt::format(format, std::forward<Args>(args)...));
}

// Number of Unicode code points in UTF-8 text (how vLLM counts text_offset).
size_t utf8_length(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string next_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{}", prefix, ++counter);
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
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

struct Generation {
  sampling::SamplingParams params;
  std::vector<std::string> stop_strings;  // cut from the text after generation
  uint64_t seed = 0;
};

Generation parse_generation(const json& body, int64_t default_max_tokens, const ServedModel& model, bool chat) {
  Generation g;
  auto& p = g.params;
  p.max_new_tokens = number<int64_t>(body, "max_tokens", default_max_tokens, 0, 1 << 20);
  p.temperature = number<double>(body, "temperature", 1.0, 0.0, 100.0);
  p.top_p = number<double>(body, "top_p", 1.0, 1e-9, 1.0);
  p.group_size = number<int64_t>(body, "n", 1, 1, 64);
  p.greedy = p.temperature == 0.0;
  if (p.greedy) p.temperature = 1.0;
  g.seed = number<uint64_t>(body, "seed", 0, 0, 1.8e19);
  p.stop_ids = model.stop_ids(chat);
  for (const std::string& s : string_or_list(body, "stop")) {
    auto id = model.tokenizer().token_to_id(s);  // e.g. "<|im_end|>": stop on the token itself
    if (id && model.tokenizer().is_special(*id)) {
      p.stop_ids.push_back(*id);
    } else if (!s.empty()) {
      g.stop_strings.push_back(s);
    }
  }
  return g;
}

// Cuts `text` at the first stop string; true when one was found.
bool cut_at_stop(std::string& text, const std::vector<std::string>& stops) {
  size_t cut = std::string::npos;
  for (const auto& s : stops) cut = std::min(cut, text.find(s));
  if (cut == std::string::npos) return false;
  text.resize(cut);
  return true;
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

vision::Image load_image_url(const std::string& url) {
  if (url.rfind("data:", 0) == 0) {
    auto comma = url.find(',');
    if (comma == std::string::npos || url.substr(0, comma).find(";base64") == std::string::npos) {
      bad_request("image_url: only base64 data: URLs are supported (data:image/png;base64,...)");
    }
    std::string bytes = base64_decode(std::string_view(url).substr(comma + 1));
    return vision::decode_image_bytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "image_url data");
  }
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    bad_request("image_url '{}': remote URLs are not fetched; send a data: URL or a file path on the server", url);
  }
  return vision::decode_image_file(url.rfind("file://", 0) == 0 ? url.substr(7) : url);
}

// Token text as vLLM lists it: the token decoded alone.
std::string token_text(const text::Tokenizer& tok, int64_t id) {
  int32_t one = static_cast<int32_t>(id);
  return tok.decode(std::span<const int32_t>(&one, 1));
}

// Character offset of each token of `ids` in decode(ids), shifted so the whole decodes to `chars`
// characters (e.g. a BOS that the text does not contain); offsets start at `base`.
std::vector<size_t> text_offsets(const text::Tokenizer& tok, const std::vector<int64_t>& ids, size_t base, size_t chars) {
  std::vector<int32_t> ids32(ids.begin(), ids.end());
  std::vector<size_t> prefix(ids.size() + 1);
  for (size_t i = 0; i <= ids.size(); ++i) prefix[i] = utf8_length(tok.decode(std::span(ids32.data(), i)));
  const size_t shift = prefix.back() > chars ? prefix.back() - chars : 0;
  std::vector<size_t> out;
  for (size_t i = 0; i < ids.size(); ++i) out.push_back(base + (prefix[i] > shift ? prefix[i] - shift : 0));
  return out;
}

// Per-token logprobs of each sample's whole sequence (its prompt, then its tokens).
std::vector<std::vector<PositionLogprob>> sample_logprobs(ServedModel& model, const std::vector<models::PolicyPrompt>& prompts,
                                                          const std::vector<sampling::Sample>& samples, int64_t top_k) {
  std::vector<const models::PolicyPrompt*> owners;
  std::vector<std::vector<int64_t>> seqs;
  for (const auto& s : samples) {
    owners.push_back(&prompts[s.request]);
    seqs.push_back(prompts[s.request].ids);
    seqs.back().insert(seqs.back().end(), s.ids.begin(), s.ids.end());
  }
  return model.sequence_logprobs(owners, seqs, top_k);
}

// The completions `logprobs` object of one sample: the echoed prompt tokens first (the first one
// with a null logprob), then the generated ones.
json completion_logprobs(const text::Tokenizer& tok, const std::string& prompt, const std::vector<int64_t>& prompt_ids,
                         const sampling::Sample& s, const std::vector<PositionLogprob>& lp, bool echo) {
  json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
  auto add = [&](int64_t id, const PositionLogprob* p, size_t offset) {
    tokens.push_back(token_text(tok, id));
    values.push_back(p ? json(p->logprob) : json(nullptr));
    json top = nullptr;
    if (p) {
      top = json::object();
      for (const auto& [tid, v] : p->top) top[token_text(tok, tid)] = v;
    }
    tops.push_back(top);
    offsets.push_back(offset);
  };
  const size_t prompt_chars = utf8_length(prompt);
  if (echo) {
    auto off = text_offsets(tok, prompt_ids, 0, prompt_chars);
    for (size_t t = 0; t < prompt_ids.size(); ++t) add(prompt_ids[t], t == 0 ? nullptr : &lp[t - 1], off[t]);
  }
  auto off = text_offsets(tok, s.ids, echo ? prompt_chars : 0, static_cast<size_t>(-1));
  for (size_t t = 0; t < s.ids.size(); ++t) add(s.ids[t], &lp[prompt_ids.size() + t - 1], off[t]);
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// The chat `logprobs` object of one sample: each generated token with its top alternatives.
json chat_logprobs(const text::Tokenizer& tok, size_t prompt_len, const sampling::Sample& s,
                   const std::vector<PositionLogprob>& lp) {
  auto entry = [&](int64_t id, double logprob) {
    std::string t = token_text(tok, id);
    std::vector<int> bytes;
    for (unsigned char c : t) bytes.push_back(c);
    return json{{"token", t}, {"logprob", logprob}, {"bytes", bytes}};
  };
  json content = json::array();
  for (size_t t = 0; t < s.ids.size(); ++t) {
    const PositionLogprob& p = lp[prompt_len + t - 1];
    json e = entry(s.ids[t], p.logprob), top = json::array();
    for (const auto& [tid, v] : p.top) top.push_back(entry(tid, v));
    e["top_logprobs"] = top;
    content.push_back(e);
  }
  return {{"content", content}};
}

// One system and one user message (text parts, and images in the user message).
struct ChatTurn {
  std::string system, user;
  std::vector<vision::Image> images;
};

ChatTurn parse_messages(const json& body) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    bad_request("'messages' must be a non-empty list");
  }
  ChatTurn turn;
  int users = 0;
  for (const auto& m : body["messages"]) {
    const std::string role = m.value("role", "");
    if (role != "system" && role != "user") {
      bad_request("message role '{}' is not supported: balcap serve takes one system and one user message", role);
    }
    std::string& text = role == "system" ? turn.system : turn.user;
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
        turn.images.push_back(load_image_url(iu.is_string() ? iu.get<std::string>() : iu.value("url", "")));
      } else {
        bad_request("content part type '{}' is not supported (text, image_url)", type);
      }
    }
  }
  if (users != 1) bad_request("{} user messages: balcap serve takes exactly one user message", users);
  return turn;
}

json reply_json(const char* id_prefix, const char* object, const std::string& model, json choices,
                int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"id", next_id(id_prefix)}, {"object", object}, {"created", unix_time()}, {"model", model},
          {"choices", std::move(choices)},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens},
                     {"total_tokens", prompt_tokens + completion_tokens}}}};
}

}  // namespace

HttpResponse OpenAiServer::handle(const HttpRequest& request) {
  const std::string& path = request.path;
  try {
    if (path == "/health") return json_response(200, R"({"status":"ok"})");
    if (path == "/v1/models") {
      json m = {{"id", name_}, {"object", "model"}, {"created", 0}, {"owned_by", "balcap"}};
      return json_response(200, json{{"object", "list"}, {"data", {m}}}.dump());
    }
    if (path != "/v1/completions" && path != "/v1/chat/completions") {
      return error_response(404, fmt::format("no route {} {} (try /v1/completions, /v1/chat/completions, /v1/models, "
                                          "/health)", request.method, path));
    }
    if (request.method != "POST") return error_response(405, fmt::format("{} needs POST", path));
    json body;
    try {
      body = json::parse(request.body);
    } catch (const json::exception& e) {
      return error_response(400, fmt::format("request body is not JSON: {}", e.what()));
    }
    if (!body.is_object()) return error_response(400, "request body must be a JSON object");
    if (body.contains("model") && body["model"] != name_) {
      return error_response(404, fmt::format("The model `{}` does not exist (this server serves `{}`).",
                                          body["model"].is_string() ? body["model"].get<std::string>() : body["model"].dump(), name_));
    }
    return path == "/v1/completions" ? completions(body) : chat(body);
  } catch (const ApiError& e) {
    return error_response(e.status, e.what());
  } catch (const Error& e) {  // bad input reaching the model (tokens, images)
    return error_response(400, e.what());
  } catch (const json::exception& e) {
    return error_response(400, fmt::format("bad field type: {}", e.what()));
  }
}

HttpResponse OpenAiServer::completions(const json& body) {
  if (!body.contains("prompt")) bad_request("'prompt' is required");
  const std::vector<std::string> prompts = string_or_list(body, "prompt");
  if (prompts.empty()) bad_request("'prompt' is empty");
  Generation g = parse_generation(body, 16, model_, /*chat=*/false);
  const bool echo = body.value("echo", false);
  const bool want_logprobs = body.contains("logprobs") && !body["logprobs"].is_null();
  const int64_t top_k = want_logprobs ? number<int64_t>(body, "logprobs", 0, 0, kMaxTopLogprobs) : 0;

  std::vector<models::PolicyPrompt> encoded;
  for (const auto& p : prompts) encoded.push_back(model_.encode_text(p));
  std::lock_guard lock(model_.mutex());
  std::vector<sampling::Sample> samples;
  if (g.params.max_new_tokens > 0) {
    samples = model_.generate(encoded, g.params, g.seed);
  } else {
    for (size_t i = 0; i < prompts.size(); ++i) {
      for (int64_t j = 0; j < g.params.group_size; ++j) samples.push_back({(int64_t)i, j, {}, {}, "length", ""});
    }
  }
  std::vector<std::vector<PositionLogprob>> lp;
  if (want_logprobs) lp = sample_logprobs(model_, encoded, samples, top_k);
  json choices = json::array();
  int64_t completion_tokens = 0, prompt_tokens = 0;
  for (const auto& p : encoded) prompt_tokens += static_cast<int64_t>(p.ids.size());
  for (size_t k = 0; k < samples.size(); ++k) {
    const auto& s = samples[k];
    const std::string& prompt = prompts[s.request];
    completion_tokens += static_cast<int64_t>(s.ids.size());
    std::string text = s.text;
    std::string finish = cut_at_stop(text, g.stop_strings) ? "stop" : s.finish_reason;
    json logprobs = nullptr;
    if (want_logprobs) logprobs = completion_logprobs(model_.tokenizer(), prompt, encoded[s.request].ids, s, lp[k], echo);
    choices.push_back({{"index", s.request * g.params.group_size + s.member},
                       {"text", echo ? prompt + text : text},
                       {"logprobs", logprobs},
                       {"finish_reason", finish}});
  }
  json reply = reply_json("cmpl", "text_completion", name_, std::move(choices), prompt_tokens, completion_tokens);
  return json_response(200, reply.dump());
}

HttpResponse OpenAiServer::chat(const json& body) {
  ChatTurn turn = parse_messages(body);
  Generation g = parse_generation(body, 256, model_, /*chat=*/true);
  if (g.params.max_new_tokens < 1) bad_request("'max_tokens' must be at least 1");
  const bool want_logprobs = body.value("logprobs", false);
  const int64_t top_k = want_logprobs ? number<int64_t>(body, "top_logprobs", 0, 0, kMaxTopLogprobs) : 0;

  std::vector<models::PolicyPrompt> prompt = {model_.encode_chat(turn.system, turn.user, turn.images)};
  std::lock_guard lock(model_.mutex());
  std::vector<sampling::Sample> samples = model_.generate(prompt, g.params, g.seed);
  std::vector<std::vector<PositionLogprob>> lp;
  if (want_logprobs) lp = sample_logprobs(model_, prompt, samples, top_k);
  json choices = json::array();
  int64_t completion_tokens = 0;
  for (size_t k = 0; k < samples.size(); ++k) {
    const auto& s = samples[k];
    completion_tokens += static_cast<int64_t>(s.ids.size());
    std::string text = s.text;
    std::string finish = cut_at_stop(text, g.stop_strings) ? "stop" : s.finish_reason;
    json logprobs = nullptr;
    if (want_logprobs) logprobs = chat_logprobs(model_.tokenizer(), prompt[0].ids.size(), s, lp[k]);
    choices.push_back({{"index", s.member}, {"message", {{"role", "assistant"}, {"content", text}}},
                       {"logprobs", logprobs}, {"finish_reason", finish}});
  }
  const int64_t prompt_tokens = static_cast<int64_t>(prompt[0].ids.size());
  json reply = reply_json("chatcmpl", "chat.completion", name_, std::move(choices), prompt_tokens, completion_tokens);
  return json_response(200, reply.dump());
}

}  // namespace balcap::serve
