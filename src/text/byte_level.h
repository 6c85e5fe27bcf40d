#pragma once
// Private to src/text: GPT-2's byte-level alphabet (HF ByteLevel pre-tokenizer/decoder): each of the 256 bytes is
// shown as one printable code point, so byte-level BPE vocabularies are valid UTF-8 strings.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace balcap::text::byte_level {

// byte -> its code point: printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to
// themselves; the other 68 bytes to U+0100, U+0101, ... in byte order.
const std::array<uint32_t, 256>& byte_to_codepoint();

// Bytes -> the byte-level string (UTF-8 of the mapped code points).
std::string encode(std::string_view bytes);

// A token's byte-level string -> its bytes; nullopt if a code point is outside the alphabet
// (HF then uses the token's own UTF-8 bytes, e.g. for added tokens).
std::optional<std::string> decode(std::string_view token);

}  // namespace balcap::text::byte_level
