#pragma once
// Private to src/text: Added tokens (tokenizer.json "added_tokens"): found in the text before the model runs, as
// HF's AddedVocabulary does: leftmost-longest matches; lstrip/rstrip extend a match over
// neighbouring whitespace; single_word rejects a match touching a word character.
// Tokens with normalized=false match the raw text, normalized=true ones the normalised text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace balcap::text {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// A piece of text: either an added token (id >= 0) or plain text for the model (id = -1).
struct TextSegment {
  std::string_view text;
  int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  // Splits `text` into plain segments and added tokens, in order (empty plain pieces dropped).
  void split(std::string_view text, std::vector<TextSegment>& out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  // Longest token matching at text[pos], or -1 (index into tokens_).
  int longest_at(std::string_view text, size_t pos) const;
  bool first_byte_[256] = {};
  std::vector<AddedToken> tokens_;
};

}  // namespace balcap::text
