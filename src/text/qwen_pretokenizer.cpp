// Hand-written matcher for the Qwen pre-tokenizer regex. Each alternative is one function
// returning the end (in characters) of its match at character i, or 0 for no match; they are
// tried in the pattern's order, as a backtracking engine does.
#include "text/qwen_pretokenizer.h"

#include <cstdint>

#include "text/utf8.h"

namespace balcap::text {

const std::string_view kQwenPretokenizerRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

using utf8::kLetter;
using utf8::kNumber;
using utf8::kOther;
using utf8::kSpace;

// The text as characters: code point, class, and byte offset (offset[n] = byte size).
struct Chars {
  std::vector<uint32_t> cp;
  std::vector<uint8_t> cls;
  std::vector<uint32_t> offset;
  size_t n = 0;

  void load(std::string_view text) {
    cp.clear(), cls.clear(), offset.clear();
    for (size_t i = 0; i < text.size();) {
      uint32_t c;
      offset.push_back(static_cast<uint32_t>(i));
      i += utf8::decode(text, i, c);
      cp.push_back(c);
      cls.push_back(utf8::char_class(c));
    }
    n = cp.size();
    offset.push_back(static_cast<uint32_t>(text.size()));
  }
  bool newline(size_t i) const { return cp[i] == '\r' || cp[i] == '\n'; }
};

// Case folding as (?i) applies it to the letters s t r e v m l d: ASCII case, and U+017F
// (long s) which folds to 's'.
uint32_t fold(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  return c == 0x17F ? 's' : c;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)
size_t contraction(const Chars& t, size_t i) {
  if (t.cp[i] != '\'' || i + 1 >= t.n) return 0;
  uint32_t a = fold(t.cp[i + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
  if (i + 2 >= t.n) return 0;
  uint32_t b = fold(t.cp[i + 2]);
  bool three = (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l');
  return three ? i + 3 : 0;
}

size_t run_of(const Chars& t, size_t j, uint8_t cls) {
  while (j < t.n && t.cls[j] == cls) ++j;
  return j;
}

// [^\r\n\p{L}\p{N}]?\p{L}+
size_t word(const Chars& t, size_t i) {
  if (t.cls[i] == kLetter) return run_of(t, i + 1, kLetter);
  bool prefix = !t.newline(i) && t.cls[i] != kNumber;  // not a letter either (checked above)
  if (prefix && i + 1 < t.n && t.cls[i + 1] == kLetter) return run_of(t, i + 2, kLetter);
  return 0;
}

//  ?[^\s\p{L}\p{N}]+[\r\n]*
size_t punctuation(const Chars& t, size_t i) {
  size_t k = (t.cp[i] == ' ' && i + 1 < t.n) ? i + 1 : i;
  if (t.cls[k] != kOther) return 0;
  size_t j = run_of(t, k + 1, kOther);
  while (j < t.n && t.newline(j)) ++j;
  return j;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+   for a whitespace run starting at i.
size_t whitespace(const Chars& t, size_t i) {
  size_t j = run_of(t, i, kSpace);
  // \s*[\r\n]+ : \s* backs off to the last newline of the run, [\r\n]+ takes it.
  for (size_t m = j; m > i; --m) {
    if (t.newline(m - 1)) return m;
  }
  // \s+(?!\S) : the whole run at the end of text, else all but its last character.
  if (j == t.n) return j;
  if (j - 1 > i) return j - 1;
  return j;  // \s+
}

size_t match_end(const Chars& t, size_t i) {
  if (size_t e = contraction(t, i)) return e;
  if (size_t e = word(t, i)) return e;
  if (t.cls[i] == kNumber) return i + 1;
  if (size_t e = punctuation(t, i)) return e;
  return whitespace(t, i);  // every other character is whitespace
}

}  // namespace

void qwen_pretokenize(std::string_view text, std::vector<std::string_view>& pieces) {
  thread_local Chars chars;
  chars.load(text);
  for (size_t i = 0; i < chars.n;) {
    size_t e = match_end(chars, i);
    pieces.push_back(text.substr(chars.offset[i], chars.offset[e] - chars.offset[i]));
    i = e;
  }
}

}  // namespace balcap::text
