// Added-token splitting. A linear scan with a first-byte filter: added tokens are few and
// short, so checking the candidates at each position that can start one is fast and simple.
#include "text/added_tokens.h"

#include "text/utf8.h"

namespace balcap::text {
namespace {

// The code point that ends just before byte `end` of valid UTF-8 text.
uint32_t codepoint_before(std::string_view text, size_t end, size_t& start) {
  start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  uint32_t cp;
  utf8::decode(text, start, cp);
  return cp;
}

bool is_space(uint32_t cp) { return utf8::char_class(cp) == utf8::kSpace; }

// Rust's char::is_alphanumeric() || '_' (HF's word character), via letter/number classes.
bool is_word_char(uint32_t cp) { return cp == '_' || (utf8::char_class(cp) & (utf8::kLetter | utf8::kNumber)); }

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (const auto& t : tokens_) {
    if (!t.content.empty()) first_byte_[static_cast<unsigned char>(t.content[0])] = true;
  }
}

int AddedTokenMatcher::longest_at(std::string_view text, size_t pos) const {
  int best = -1;
  for (size_t k = 0; k < tokens_.size(); ++k) {
    const std::string& c = tokens_[k].content;
    if (c.empty() || text.compare(pos, c.size(), c) != 0) continue;
    if (best < 0 || c.size() > tokens_[static_cast<size_t>(best)].content.size()) best = static_cast<int>(k);
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>& out) const {
  size_t plain_start = 0;  // start of the text not yet emitted
  for (size_t pos = 0; pos < text.size();) {
    int k = first_byte_[static_cast<unsigned char>(text[pos])] ? longest_at(text, pos) : -1;
    if (k < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[static_cast<size_t>(k)];
    size_t start = pos, stop = pos + tok.content.size(), prev = 0;
    if (tok.single_word) {
      uint32_t after = 0;
      bool word_before = start > 0 && is_word_char(codepoint_before(text, start, prev));
      bool word_after = stop < text.size() && (utf8::decode(text, stop, after), is_word_char(after));
      if (word_before || word_after) {
        pos = stop;  // HF drops the match and searches on after it (matches never overlap)
        continue;
      }
    }
    if (tok.lstrip) {
      while (start > plain_start && is_space(codepoint_before(text, start, prev))) start = prev;
    }
    if (tok.rstrip) {
      uint32_t cp;
      while (stop < text.size()) {
        size_t len = utf8::decode(text, stop, cp);
        if (!is_space(cp)) break;
        stop += len;
      }
    }
    if (start > plain_start) out.push_back(TextSegment{text.substr(plain_start, start - plain_start), -1});
    out.push_back(TextSegment{text.substr(start, stop - start), tok.id});
    plain_start = pos = stop;
  }
  if (plain_start < text.size()) out.push_back(TextSegment{text.substr(plain_start), -1});
}

}  // namespace balcap::text
