// Words, sentences, content words and distinct-n (src/rewards/lexical_text.h).
#include "rewards/lexical_text.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace balcap::rewards {
namespace {

bool word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Function words that carry no visual fact (articles, pronouns, prepositions, auxiliaries,
// conjunctions, generic caption words). Sorted for binary search.
constexpr std::array<std::string_view, 97> kStopWords = {
    "a",       "about",   "above", "across", "after", "against", "along",   "also",    "among", "an",      "and",
    "are",     "around",  "as",    "at",     "be",    "been",    "behind",  "being",   "below", "beneath", "beside",
    "between", "both",    "but",   "by",     "can",   "could",   "depicts", "did",     "do",    "does",    "down",
    "during",  "each",    "for",   "from",   "has",   "have",    "having",  "he",      "her",   "here",    "his",
    "i",       "image",   "in",    "into",   "is",    "it",      "its",     "may",     "might", "near",    "of",
    "off",     "on",      "onto",  "or",     "our",   "over",    "photo",   "picture", "she",   "shows",   "so",
    "some",    "than",    "that",  "the",    "their", "them",    "then",    "there",   "these", "they",    "this",
    "those",   "through", "to",    "toward", "under", "up",      "upon",    "very",    "was",   "we",      "were",
    "what",    "where",   "which", "while",  "who",   "will",    "with",    "within",  "would"};

}  // namespace

std::vector<std::string> lexical_words(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (word_byte(c)) {
      current += c < 0x80 ? static_cast<char>(std::tolower(c)) : ch;
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

std::vector<std::string> lexical_sentences(std::string_view text) {
  std::vector<std::string> sentences;
  std::string current;
  auto flush = [&] {
    if (current.find_first_not_of(" \t\r") != std::string::npos) sentences.push_back(current);
    current.clear();
  };
  for (char c : text) {
    if (c == '.' || c == '!' || c == '?' || c == ';' || c == '\n') {
      flush();
    } else {
      current += c;
    }
  }
  flush();
  return sentences;
}

std::string lexical_stem(std::string w) {
  if (w.size() <= 3 || ends_with(w, "ss") || ends_with(w, "us") || ends_with(w, "is")) return w;
  if (ends_with(w, "ies")) return w.substr(0, w.size() - 3) + "y";
  for (std::string_view tail : {"sses", "xes", "ches", "shes", "zes"}) {
    if (ends_with(w, tail)) return w.substr(0, w.size() - 2);
  }
  if (ends_with(w, "s")) return w.substr(0, w.size() - 1);
  return w;
}

bool is_stop_word(std::string_view word) { return std::binary_search(kStopWords.begin(), kStopWords.end(), word); }

std::set<std::string> content_words(std::string_view text) {
  std::set<std::string> out;
  for (std::string& w : lexical_words(text)) {
    if (!is_stop_word(w)) out.insert(lexical_stem(std::move(w)));
  }
  return out;
}

double distinct_ngram_ratio(const std::vector<std::string>& words, std::int64_t n) {
  if (n < 1 || static_cast<std::int64_t>(words.size()) < n) return 1.0;
  std::set<std::vector<std::string>> distinct;
  std::size_t total = words.size() - static_cast<std::size_t>(n) + 1;
  for (std::size_t i = 0; i < total; ++i) distinct.emplace(words.begin() + i, words.begin() + i + n);
  return static_cast<double>(distinct.size()) / static_cast<double>(total);
}

}  // namespace balcap::rewards
