#include "serve/openai_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "serve/openai_request.h"

namespace balcap::serve {
namespace {

using nlohmann::json;

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

struct Generation {
  sampling::SamplingParams params;
  std::vector<std::string> stop_strings;  // cut from the text after generation
  uint64_t seed = 0;
};

// The request's sampling fields with its stop strings resolved against the model's tokenizer.
Generation resolve_generation(const GenerationFields& f, const ServedModel& model, bool chat) {
  Generation g;
  auto& p = g.params;
  p.max_new_tokens = f.max_tokens;
  p.temperature = f.temperature;
  p.top_p = f.top_p;
  p.group_size = f.n;
  p.greedy = p.temperature == 0.0;
  if (p.greedy) p.temperature = 1.0;
  g.seed = f.seed;
  p.stop_ids = model.stop_ids(chat);
  for (const std::string& s : f.stop) {
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
  const CompletionRequest request = parse_completion_request(body);
  const std::vector<std::string>& prompts = request.prompts;
  Generation g = resolve_generation(request.generation, model_, /*chat=*/false);
  const bool echo = request.echo;
  const bool want_logprobs = request.want_logprobs;
  const int64_t top_k = request.top_logprobs;

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
  const ChatRequest request = parse_chat_request(body);
  Generation g = resolve_generation(request.generation, model_, /*chat=*/true);
  const bool want_logprobs = request.want_logprobs;
  const int64_t top_k = request.top_logprobs;
  std::vector<vision::Image> images;
  for (const auto& url : request.image_urls) images.push_back(load_image_url(url));

  std::vector<models::PolicyPrompt> prompt = {model_.encode_chat(request.system, request.user, images)};
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
