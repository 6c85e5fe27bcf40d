#pragma once
// Private to src/text: The Qwen pre-tokenizer regex, matched by hand (faster than a regex engine):
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*
//   |\s*[\r\n]+|\s+(?!\S)|\s+
// with Oniguruma's semantics as HF tokenizers uses it (Split, behaviour Isolated): leftmost
// match, first successful alternative wins, greedy quantifiers with backtracking.
#include <string_view>
#include <vector>

namespace balcap::text {

// The exact pattern string this matcher implements (as written in tokenizer.json).
extern const std::string_view kQwenPretokenizerRegex;

// Splits valid UTF-8 `text` into the regex's consecutive matches (they cover all of it);
// appends views into `text` to `pieces`.
void qwen_pretokenize(std::string_view text, std::vector<std::string_view>& pieces);

}  // namespace balcap::text
