#pragma once
// Private to src/rewards: Dependency-free text pieces shared by the lexical scorers and the repetition guard: words,
// sentences, content words (stop words removed, lowercased, plural endings stemmed) and
// distinct-n ratios. ASCII letters are lowercased; other UTF-8 bytes stay part of their word.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace balcap::rewards {

// Lowercased runs of letters, digits and non-ASCII bytes; everything else separates.
// "A red-car, 2 dogs!" -> {"a", "red", "car", "2", "dogs"}
std::vector<std::string> lexical_words(std::string_view text);

// Sentences split at . ! ? ; and newlines; empty pieces dropped. "Two dogs. A cat!" -> {"Two dogs", " A cat"}
std::vector<std::string> lexical_sentences(std::string_view text);

// Simple plural stemming: "puppies" -> "puppy", "boxes" -> "box", "dogs" -> "dog"; words of 3
// letters or fewer and words ending in "ss", "us", "is" are kept ("bus", "glass", "this").
std::string lexical_stem(std::string word);

bool is_stop_word(std::string_view word);

// The set of stemmed content words (stop words removed).
std::set<std::string> content_words(std::string_view text);

// distinct n-grams / all n-grams of `words`; 1 when there are fewer than n words (nothing repeats).
double distinct_ngram_ratio(const std::vector<std::string>& words, std::int64_t n);

}  // namespace balcap::rewards
