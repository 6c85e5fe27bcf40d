// UTF-8 validation, classes and normal forms. Validation follows the Unicode standard's
// table of well-formed byte sequences (Table 3-7); lossy decoding replaces each maximal
// ill-formed subpart with one U+FFFD, as Rust's String::from_utf8_lossy does.
#include "text/utf8.h"

#include <utf8proc.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace balcap::text::utf8 {
namespace {

// Allowed range of the second byte after lead byte `b` (later bytes are always 80..BF).
struct SecondRange {
  unsigned char lo, hi;
};
SecondRange second_range(unsigned char b) {
  if (b == 0xE0) return {0xA0, 0xBF};  // no overlong 3-byte forms
  if (b == 0xED) return {0x80, 0x9F};  // no surrogates
  if (b == 0xF0) return {0x90, 0xBF};  // no overlong 4-byte forms
  if (b == 0xF4) return {0x80, 0x8F};  // nothing above U+10FFFF
  return {0x80, 0xBF};
}

size_t sequence_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;  // continuation byte, C0/C1 or F5..FF: never a lead
}

// Length of the well-formed prefix of the sequence at s[i]; `complete` when it is a whole
// character. An invalid lead byte gives 1 (it is its own maximal subpart).
size_t valid_prefix(std::string_view s, size_t i, bool& complete) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t need = sequence_length(b);
  complete = need == 1;
  if (need <= 1) return 1;
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return k;
    auto c = static_cast<unsigned char>(s[i + k]);
    SecondRange r = k == 1 ? second_range(b) : SecondRange{0x80, 0xBF};
    if (c < r.lo || c > r.hi) return k;
  }
  complete = true;
  return need;
}

uint8_t class_from_utf8proc(uint32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return kLetter;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return kNumber;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
      return kSpace;
    default:
      // White_Space also holds the controls TAB..CR and NEL (U+0085).
      return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 ? kSpace : kOther;
  }
}

const std::array<uint8_t, 128>& ascii_table() {
  static const std::array<uint8_t, 128> table = [] {
    std::array<uint8_t, 128> t{};
    for (uint32_t c = 0; c < 128; ++c) t[c] = class_from_utf8proc(c);
    return t;
  }();
  return table;
}

}  // namespace

std::optional<size_t> find_invalid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= s.size()) break;
    bool complete = false;
    size_t n = valid_prefix(s, i, complete);
    if (!complete) return i;
    i += n;
  }
  return std::nullopt;
}

void check_valid(std::string_view s, std::string_view what) {
  auto bad = find_invalid(s);
  if (!bad) return;
  fail("{}: invalid UTF-8 at byte offset {} (byte 0x{:02X})\n"
       "HINT: tokenizers take UTF-8 text; re-encode the input (e.g. `iconv -f LATIN1 -t UTF-8`) "
       "or drop the bad bytes",
       what, *bad, static_cast<unsigned char>(s[*bad]));
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint8_t char_class(uint32_t cp) {
  return cp < 128 ? ascii_table()[cp] : class_from_utf8proc(cp);
}

std::string normalize(std::string_view s, std::string_view form) {
  bool nfc = form == "NFC", nfd = form == "NFD", nfkc = form == "NFKC", nfkd = form == "NFKD";
  BALCAP_CHECK(nfc || nfd || nfkc || nfkd, "unknown Unicode normal form '{}'\nHINT: use NFC, NFD, NFKC or NFKD", form);
  // No code point below U+0300 changes under NFC (NFC_Quick_Check is Yes for all of them);
  // ASCII is unchanged by every form.
  bool unchanged = true;
  for (size_t i = 0; i < s.size() && unchanged;) {
    uint32_t cp;
    i += decode(s, i, cp);
    unchanged = nfc ? cp < 0x300 : cp < 0x80;
  }
  if (unchanged) return std::string(s);
  int options = UTF8PROC_STABLE | (nfc || nfkc ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
                (nfkc || nfkd ? UTF8PROC_COMPAT : 0);
  utf8proc_uint8_t* out = nullptr;
  auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                        static_cast<utf8proc_ssize_t>(s.size()), &out, static_cast<utf8proc_option_t>(options));
  BALCAP_CHECK(n >= 0, "Unicode normalisation ({}) failed: {}\nHINT: the text must be valid UTF-8", form,
               utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> guard(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    bool complete = false;
    size_t n = valid_prefix(bytes, i, complete);
    if (complete) {
      out.append(bytes.substr(i, n));
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
    }
    i += n;
  }
  return out;
}

}  // namespace balcap::text::utf8
