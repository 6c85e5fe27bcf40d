#include "rewards/remote_judge.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "rewards/judge_factories.h"
#include "text/judge_chat.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;

constexpr const char* kEndOfTurn = "<|im_end|>";
constexpr int kChatTopLogprobs = 20;  // OpenAI's maximum

// 128-bit FNV-1a (two 64-bit lanes with different offset bases) as hex: the cache key of an item.
std::string hash_key(const std::string& text) {
  uint64_t a = 14695981039346656037ull, b = 1099511628211ull * 31 + 7;
  for (unsigned char c : text) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 1099511628211ull + 0x9e3779b97f4a7c15ull;
  }
  return fmt::format("{:016x}{:016x}", a, b);
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[n & 63] : '=';
  }
  return out;
}

// data:image/...;base64,... for a vision judge's request image.
std::string image_data_url(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BALCAP_CHECK(in, "cannot read judge image {}\nHINT: check the record's image path", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](char c) { return std::tolower(c); });
  std::string mime = ext == ".png" ? "image/png" : ext == ".webp" ? "image/webp" : "image/jpeg";
  return "data:" + mime + ";base64," + base64(ss.str());
}

const json& field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) {
    throw JudgeError(fmt::format("{}: reply has no '{}' field (got {})\nHINT: is the server OpenAI-compatible?",
                                 where, key, j.dump().substr(0, 200)));
  }
  return j[key];
}

const json& string_field(const json& j, const char* key, const std::string& where) {
  const json& value = field(j, key, where);
  if (!value.is_string()) {
    throw JudgeError(fmt::format("{}: '{}' is not text (got {})", where, key, value.dump().substr(0, 200)));
  }
  return value;
}

// A chat reply's top_logprobs: a non-empty list of {token: text, logprob: number} (an empty one
// would score every choice 0, probability 1).
const json& top_logprobs_field(const json& j, const std::string& where) {
  const json& top = field(j, "top_logprobs", where);
  if (!top.is_array() || top.empty()) {
    throw JudgeError(fmt::format("{}: the first token has no top_logprobs\nHINT: the server must support "
                                 "logprobs: true with top_logprobs (vLLM, SGLang and `balcap serve` do)",
                                 where));
  }
  for (const json& t : top) {
    if (!t.is_object() || !t.contains("token") || !t["token"].is_string() || !t.contains("logprob") ||
        !t["logprob"].is_number()) {
      throw JudgeError(fmt::format("{}: a top_logprobs entry is not {{token, logprob}} (got {})", where,
                                   t.dump().substr(0, 200)));
    }
  }
  return top;
}

}  // namespace

size_t utf8_length(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

double echoed_continuation_logprob(const json& logprobs, size_t prompt_chars, size_t full_chars,
                                   const std::string& where) {
  const json& offsets = field(logprobs, "text_offset", where);
  const json& values = field(logprobs, "token_logprobs", where);
  if (!offsets.is_array() || !values.is_array() || offsets.size() != values.size()) {
    throw JudgeError(fmt::format("{}: text_offset and token_logprobs are not arrays of one length", where));
  }
  bool boundary = false;
  size_t tokens = 0;
  double sum = 0;
  for (size_t i = 0; i < offsets.size(); ++i) {
    size_t off = offsets[i].get<size_t>();
    if (off == prompt_chars) boundary = true;
    if (off < prompt_chars || off >= full_chars) continue;
    if (!values[i].is_number()) {
      throw JudgeError(fmt::format("{}: echoed token {} has no logprob ({})\nHINT: the server must return prompt "
                                   "logprobs with echo: true",
                                   where, i, values[i].dump()));
    }
    sum += values[i].get<double>();
    ++tokens;
  }
  if (!boundary || tokens == 0) {
    throw JudgeError(fmt::format(
        "{}: no echoed token starts at the end of the prompt (character {}), so the choice's tokens cannot be "
        "separated from the prompt's\nHINT: the choice must start a new token after the assistant header; the "
        "server must report text_offset in characters of the echoed text (as vLLM does)",
        where, prompt_chars));
  }
  return sum;
}

double top_logprob_of_choice(const json& top_logprobs, const std::string& choice) {
  auto trim = [](std::string s) {
    auto b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  const std::string want = trim(choice);
  double exact = -std::numeric_limits<double>::infinity(), prefix = exact, lowest = 0;
  size_t prefix_len = 0;
  for (const auto& t : top_logprobs) {
    std::string token = trim(t.value("token", ""));
    double lp = t.value("logprob", -std::numeric_limits<double>::infinity());
    lowest = std::min(lowest, lp);
    if (token.empty()) continue;
    if (token == want) exact = std::max(exact, lp);
    if (want.rfind(token, 0) == 0 && (token.size() > prefix_len || (token.size() == prefix_len && lp > prefix))) {
      prefix = lp;
      prefix_len = token.size();
    }
  }
  if (std::isfinite(exact)) return exact;
  if (std::isfinite(prefix)) return prefix;
  return lowest;
}

RemoteJudge::RemoteJudge(std::string name, const config::JudgeConfig& config)
    : name_(std::move(name)),
      api_(config.api),
      vision_(config.vision),
      use_cache_(config.cache),
      batch_size_(config.batch_size),
      endpoint_(name_, config) {
  BALCAP_CHECK(api_ == "completions" || api_ == "chat",
               "rewards.judges.{}.api: '{}' is not an API\nHINT: use completions or chat", name_, api_);
  BALCAP_CHECK(!(vision_ && api_ == "completions"),
               "rewards.judges.{}: vision: true needs api: chat (completions prompts carry no image)\nHINT: set "
               "api: chat for a vision judge",
               name_);
}

int64_t RemoteJudge::cache_hits() const {
  std::lock_guard lock(cache_mutex_);
  return cache_hits_;
}

std::vector<json> RemoteJudge::answer(const std::vector<std::string>& keys, int64_t chunk,
                                      const std::function<std::vector<json>(const std::vector<size_t>&)>& fetch) {
  std::vector<json> out(keys.size());
  std::vector<size_t> missing;  // first index of each distinct uncached key
  {
    std::lock_guard lock(cache_mutex_);
    std::unordered_map<std::string, size_t> first;
    for (size_t i = 0; i < keys.size(); ++i) {
      auto hit = use_cache_ ? cache_.find(keys[i]) : cache_.end();
      if (hit != cache_.end()) {
        out[i] = hit->second;
        ++cache_hits_;
      } else if (first.emplace(keys[i], i).second) {
        missing.push_back(i);
      }
    }
  }
  const int64_t n_chunks = (static_cast<int64_t>(missing.size()) + chunk - 1) / chunk;
  parallel_for(n_chunks, endpoint_.concurrency(), [&](int64_t c) {
    std::vector<size_t> part(missing.begin() + c * chunk,
                             missing.begin() + std::min<int64_t>((c + 1) * chunk, missing.size()));
    std::vector<json> values = fetch(part);
    for (size_t k = 0; k < part.size(); ++k) out[part[k]] = std::move(values[k]);
  });
  std::lock_guard lock(cache_mutex_);
  if (use_cache_ && cache_.size() > 200000) cache_.clear();  // bounded memory over a long run
  for (size_t i = 0; i < keys.size(); ++i) {
    if (out[i].is_null()) {  // a repeat of a key fetched in this call
      out[i] = out[std::find(keys.begin(), keys.end(), keys[i]) - keys.begin()];
    }
    if (use_cache_) cache_.emplace(keys[i], out[i]);
  }
  return out;
}

std::vector<json> RemoteJudge::completion_choices(const json& reply, size_t expected) const {
  const std::string where = fmt::format("judge '{}': {}/completions", name_, endpoint_.url());
  const json& choices = field(reply, "choices", where);
  if (!choices.is_array() || choices.size() != expected) {
    throw JudgeError(fmt::format("{}: expected {} choices (one per prompt), got {}", where, expected,
                                 choices.is_array() ? choices.size() : 0));
  }
  std::vector<json> out(expected);
  for (size_t i = 0; i < expected; ++i) {
    size_t index = choices[i].value("index", i);
    if (index >= expected) throw JudgeError(fmt::format("{}: choice index {} out of range", where, index));
    out[index] = choices[i];
  }
  return out;
}

std::vector<std::string> RemoteJudge::generate(const std::vector<JudgeRequest>& requests, std::int64_t max_new_tokens) {
  for (const auto& r : requests) {
    BALCAP_CHECK(!r.image_path || vision_,
                 "judge '{}' sees no images but a request carries {}\nHINT: use a vision judge (api: chat, vision: "
                 "true) for evidence: image",
                 name_, *r.image_path);
  }
  return api_ == "chat" ? chat_generate(requests, max_new_tokens) : completions_generate(requests, max_new_tokens);
}

std::vector<std::vector<double>> RemoteJudge::choice_logprobs(const std::vector<JudgeRequest>& requests,
                                                              const std::vector<std::string>& choices) {
  for (const auto& r : requests) {
    BALCAP_CHECK(!r.image_path || vision_, "judge '{}' sees no images but a request carries {}\nHINT: use a vision "
                 "judge (api: chat, vision: true) for evidence: image", name_, *r.image_path);
  }
  return api_ == "chat" ? chat_choices(requests, choices) : completions_choices(requests, choices);
}

std::vector<std::string> RemoteJudge::completions_generate(const std::vector<JudgeRequest>& requests,
                                                           int64_t max_new_tokens) {
  const std::string model = endpoint_.model();
  const std::string where = fmt::format("judge '{}': {}/completions", name_, endpoint_.url());
  std::vector<std::string> prompts, keys;
  for (const auto& r : requests) {
    prompts.push_back(text::chatml_judge_prompt(r.system, r.user));
    keys.push_back(hash_key(fmt::format("completions\x1fgen\x1f{}\x1f{}\x1f{}", model, max_new_tokens, prompts.back())));
  }
  auto values = answer(keys, batch_size_, [&](const std::vector<size_t>& idx) {
    json body = {{"model", model}, {"max_tokens", max_new_tokens}, {"temperature", 0}, {"stop", {kEndOfTurn}}};
    for (size_t i : idx) body["prompt"].push_back(prompts[i]);
    std::vector<json> texts;
    endpoint_.post("/completions", body, [&](const json& reply) {  // read inside the retries: an unusable reply is retried
      texts.clear();
      for (auto& c : completion_choices(reply, idx.size())) texts.push_back(string_field(c, "text", where));
    });
    return texts;
  });
  std::vector<std::string> out;
  for (auto& v : values) out.push_back(v.get<std::string>());
  return out;
}

std::vector<std::vector<double>> RemoteJudge::completions_choices(const std::vector<JudgeRequest>& requests,
                                                                  const std::vector<std::string>& choices) {
  const std::string model = endpoint_.model();
  const std::string where = fmt::format("judge '{}': {}/completions", name_, endpoint_.url());
  std::vector<std::string> texts, keys;
  std::vector<std::pair<size_t, size_t>> spans;  // [prompt chars, full chars) per item
  for (const auto& r : requests) {
    std::string prompt = text::chatml_judge_prompt(r.system, r.user);
    for (const auto& c : choices) {
      texts.push_back(prompt + c);
      spans.emplace_back(utf8_length(prompt), utf8_length(texts.back()));
      keys.push_back(hash_key(fmt::format("completions\x1f" "echo\x1f{}\x1f{}\x1f{}", model, prompt.size(), texts.back())));
    }
  }
  auto values = answer(keys, batch_size_, [&](const std::vector<size_t>& idx) {
    json body = {{"model", model}, {"max_tokens", 1}, {"temperature", 0}, {"echo", true}, {"logprobs", 0}};
    for (size_t i : idx) body["prompt"].push_back(texts[i]);
    std::vector<json> sums;
    endpoint_.post("/completions", body, [&](const json& reply) {  // read inside the retries: an unusable reply is retried
      sums.clear();
      auto replies = completion_choices(reply, idx.size());
      for (size_t k = 0; k < idx.size(); ++k) {
        const auto& [p, f] = spans[idx[k]];
        sums.push_back(echoed_continuation_logprob(field(replies[k], "logprobs", where), p, f, where));
      }
    });
    return sums;
  });
  std::vector<std::vector<double>> out(requests.size(), std::vector<double>(choices.size()));
  for (size_t i = 0; i < values.size(); ++i) out[i / choices.size()][i % choices.size()] = values[i].get<double>();
  return out;
}

json RemoteJudge::chat_messages(const JudgeRequest& r) const {
  json user = r.user;
  if (r.image_path) {
    user = json::array({{{"type", "image_url"}, {"image_url", {{"url", image_data_url(*r.image_path)}}}},
                        {{"type", "text"}, {"text", r.user}}});
  }
  return json::array({{{"role", "system"}, {"content", r.system}}, {{"role", "user"}, {"content", user}}});
}

std::vector<std::string> RemoteJudge::chat_generate(const std::vector<JudgeRequest>& requests, int64_t max_new_tokens) {
  const std::string model = endpoint_.model();
  const std::string where = fmt::format("judge '{}': {}/chat/completions", name_, endpoint_.url());
  std::vector<json> bodies;
  std::vector<std::string> keys;
  for (const auto& r : requests) {
    bodies.push_back({{"model", model}, {"messages", chat_messages(r)}, {"max_tokens", max_new_tokens}, {"temperature", 0}});
    keys.push_back(hash_key("chat\x1fgen\x1f" + bodies.back().dump()));
  }
  auto values = answer(keys, 1, [&](const std::vector<size_t>& idx) {
    std::vector<json> content;
    endpoint_.post("/chat/completions", bodies[idx[0]], [&](const json& reply) {
      const json& choices = field(reply, "choices", where);
      if (!choices.is_array() || choices.empty()) throw JudgeError(where + ": reply has no choices");
      // null content (a refusal, a tool call) is no answer, not an empty claim list
      content.assign(1, string_field(field(choices[0], "message", where), "content", where));
    });
    return content;
  });
  std::vector<std::string> out;
  for (auto& v : values) out.push_back(v.get<std::string>());
  return out;
}

std::vector<std::vector<double>> RemoteJudge::chat_choices(const std::vector<JudgeRequest>& requests,
                                                           const std::vector<std::string>& choices) {
  const std::string model = endpoint_.model();
  const std::string where = fmt::format("judge '{}': {}/chat/completions", name_, endpoint_.url());
  std::vector<json> bodies;
  std::vector<std::string> keys;
  for (const auto& r : requests) {
    bodies.push_back({{"model", model}, {"messages", chat_messages(r)}, {"max_tokens", 1}, {"temperature", 0},
                      {"logprobs", true}, {"top_logprobs", kChatTopLogprobs}});
    keys.push_back(hash_key("chat\x1ftop\x1f" + bodies.back().dump()));
  }
  auto values = answer(keys, 1, [&](const std::vector<size_t>& idx) {
    std::vector<json> top;
    endpoint_.post("/chat/completions", bodies[idx[0]], [&](const json& reply) {
      const json& list = field(reply, "choices", where);
      if (!list.is_array() || list.empty()) throw JudgeError(where + ": reply has no choices");
      const json& content = field(field(list[0], "logprobs", where), "content", where);
      if (!content.is_array() || content.empty()) throw JudgeError(where + ": reply has no token logprobs");
      top.assign(1, top_logprobs_field(content[0], where));
    });
    return top;
  });
  std::vector<std::vector<double>> out(requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    for (const auto& c : choices) out[r].push_back(top_logprob_of_choice(values[r], c));
  }
  return out;
}

std::unique_ptr<Judge> make_remote_judge(const std::string& name, const config::JudgeConfig& config) {
  return std::make_unique<RemoteJudge>(name, config);
}

}  // namespace balcap::rewards
