// HF decoders as a chain over the token strings (each step maps tokens -> tokens; the result
// is their concatenation), following tokenizers' decode_chain semantics.
#include "text/token_decoder.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/byte_level.h"
#include "text/utf8.h"

namespace balcap::text {
namespace {

using Tokens = std::vector<std::string>;

void replace_in_place(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// "<0xAB>" -> 0xAB, or -1.
int fallback_byte(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

Tokens byte_fallback(Tokens tokens) {
  Tokens out;
  std::string pending;  // bytes of the current run of <0xXX> tokens
  size_t pending_count = 0;
  auto flush = [&] {
    if (pending_count == 0) return;
    if (utf8::find_invalid(pending)) {
      for (size_t i = 0; i < pending_count; ++i) out.emplace_back("\xEF\xBF\xBD");
    } else {
      out.push_back(pending);
    }
    pending.clear(), pending_count = 0;
  };
  for (auto& t : tokens) {
    int b = fallback_byte(t);
    if (b >= 0) {
      pending += static_cast<char>(b), ++pending_count;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  return out;
}

Tokens byte_level_join(const Tokens& tokens) {
  std::string bytes;
  for (const auto& t : tokens) {
    auto b = byte_level::decode(t);
    bytes += b ? *b : t;  // a token outside the alphabet contributes its own bytes
  }
  return Tokens{utf8::lossy(bytes)};
}

// Drops up to `start` leading and `stop` trailing copies of `content` (one character).
void strip(std::string& t, const std::string& content, size_t start, size_t stop) {
  size_t head = 0;
  for (size_t i = 0; i < start && t.compare(head, content.size(), content) == 0; ++i) head += content.size();
  size_t tail = t.size();
  for (size_t i = 0; i < stop && tail >= head + content.size() &&
                     t.compare(tail - content.size(), content.size(), content) == 0;
       ++i) {
    tail -= content.size();
  }
  t = t.substr(head, tail - head);
}

}  // namespace

TokenDecoder TokenDecoder::from_json(const nlohmann::json& spec, const std::string& where) {
  TokenDecoder d;
  if (spec.is_null()) {
    d.none_ = true;
  } else {
    d.add(spec, where);
  }
  return d;
}

void TokenDecoder::add(const nlohmann::json& spec, const std::string& where) {
  std::string type = spec.value("type", "");
  if (type == "Sequence") {
    for (const auto& s : spec.at("decoders")) add(s, where);
  } else if (type == "ByteLevel" || type == "ByteFallback" || type == "Fuse") {
    steps_.push_back(Step{type});
  } else if (type == "Replace" && spec.at("pattern").contains("String")) {
    steps_.push_back(Step{type, spec["pattern"]["String"].get<std::string>(), spec.at("content").get<std::string>()});
  } else if (type == "Strip") {
    steps_.push_back(Step{type, spec.at("content").get<std::string>(), "", spec.at("start").get<size_t>(),
                          spec.at("stop").get<size_t>()});
  } else {
    fail("{}: unsupported decoder '{}' ({})\nHINT: balcap supports ByteLevel, Replace with a String "
         "pattern, ByteFallback, Fuse, Strip and Sequence of these",
         where, type, spec.dump().substr(0, 200));
  }
}

std::string TokenDecoder::decode(Tokens tokens) const {
  if (none_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const auto& step : steps_) {
    if (step.kind == "ByteLevel") {
      tokens = byte_level_join(tokens);
    } else if (step.kind == "ByteFallback") {
      tokens = byte_fallback(std::move(tokens));
    } else if (step.kind == "Fuse") {
      std::string all;
      for (const auto& t : tokens) all += t;
      tokens = Tokens{std::move(all)};
    } else if (step.kind == "Replace") {
      for (auto& t : tokens) replace_in_place(t, step.a, step.b);
    } else {  // Strip
      for (auto& t : tokens) strip(t, step.a, step.start, step.stop);
    }
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace balcap::text
