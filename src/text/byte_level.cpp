// GPT-2's bytes_to_unicode, computed the way the original defines it.
#include "text/byte_level.h"

#include <unordered_map>

#include "text/utf8.h"

namespace balcap::text::byte_level {
namespace {

bool printable(uint32_t b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

const std::unordered_map<uint32_t, uint8_t>& codepoint_to_byte() {
  static const std::unordered_map<uint32_t, uint8_t> table = [] {
    std::unordered_map<uint32_t, uint8_t> t;
    const auto& fwd = byte_to_codepoint();
    for (uint32_t b = 0; b < 256; ++b) t[fwd[b]] = static_cast<uint8_t>(b);
    return t;
  }();
  return table;
}

const std::array<std::string, 256>& byte_strings() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    for (uint32_t b = 0; b < 256; ++b) utf8::append(t[b], byte_to_codepoint()[b]);
    return t;
  }();
  return table;
}

}  // namespace

const std::array<uint32_t, 256>& byte_to_codepoint() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) t[b] = printable(b) ? b : next++;
    return t;
  }();
  return table;
}

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  const auto& strings = byte_strings();
  for (char c : bytes) out += strings[static_cast<unsigned char>(c)];
  return out;
}

std::optional<std::string> decode(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  const auto& table = codepoint_to_byte();
  for (size_t i = 0; i < token.size();) {
    uint32_t cp;
    i += utf8::decode(token, i, cp);
    auto it = table.find(cp);
    if (it == table.end()) return std::nullopt;
    out += static_cast<char>(it->second);
  }
  return out;
}

}  // namespace balcap::text::byte_level
