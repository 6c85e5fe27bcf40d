#pragma once
// UTF-8 helpers for the tokenizers: validation with byte offsets, code point iteration,
// Unicode classes (from utf8proc, not hand-made tables), NFC, and Rust-style lossy decoding.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace balcap::text::utf8 {

// Byte offset of the first invalid sequence (bad lead/continuation byte, overlong form,
// surrogate, > U+10FFFF, truncated), or nullopt when `s` is valid UTF-8.
std::optional<size_t> find_invalid(std::string_view s);

// Throws balcap::Error "<what>: invalid UTF-8 at byte offset N ..." with a HINT when invalid.
void check_valid(std::string_view s, std::string_view what);

// Decodes the code point at s[i] of VALID UTF-8; returns its length in bytes (1-4).
inline size_t decode(std::string_view s, size_t i, uint32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) { cp = b; return 1; }
  auto cont = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b < 0xE0) { cp = ((b & 0x1Fu) << 6) | cont(1); return 2; }
  if (b < 0xF0) { cp = ((b & 0x0Fu) << 12) | (cont(1) << 6) | cont(2); return 3; }
  cp = ((b & 0x07u) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
  return 4;
}

void append(std::string& out, uint32_t cp);

// Character classes as Oniguruma sees them in HF's regexes: \p{L} (Lu Ll Lt Lm Lo),
// \p{N} (Nd Nl No), \s (the Unicode White_Space property).
enum CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 4 };
uint8_t char_class(uint32_t cp);

// Unicode normal forms of valid UTF-8 (utf8proc). "NFC" "NFD" "NFKC" "NFKD".
std::string normalize(std::string_view s, std::string_view form);

// Bytes -> UTF-8 replacing each maximal invalid subsequence with U+FFFD, exactly as Rust's
// String::from_utf8_lossy (which HF's decoders use).
std::string lossy(std::string_view bytes);

}  // namespace balcap::text::utf8
