// parse_caption: tokenizer, sentence splitter and a backtracking recursive-descent parser over
// the grammar in scene_grammar.h. Each rule either consumes tokens and appends claims, or
// restores the position, the claims and the agreement flag (Mark) and returns false.
#include "data/scene_grammar.h"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>

namespace balcap::data {
namespace {

constexpr std::string_view kSep = ",";
constexpr std::string_view kJunk = "#";  // any character the grammar has no place for

std::string normalise(std::string w) {
  static const std::map<std::string, std::string> kSynonyms = {{"grey", "gray"},     {"centre", "center"},
                                                               {"middle", "center"}, {"big", "large"},
                                                               {"upper", "top"},     {"lower", "bottom"}};
  auto it = kSynonyms.find(w);
  return it == kSynonyms.end() ? w : it->second;
}

template <size_t N>
bool in(const std::array<std::string_view, N>& words, std::string_view w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

int count_of(std::string_view w) {
  static constexpr std::array<std::string_view, 10> kWords = {"zero", "one", "two",   "three", "four",
                                                              "five", "six", "seven", "eight", "nine"};
  if (w == "a" || w == "an") return 1;
  for (int i = 1; i < 10; ++i) {
    if (w == kWords[i] || w == std::to_string(i)) return i;
  }
  return 0;
}

struct NounPhrase {
  std::string colour, shape, size;
  int count = 0;  // 0: no count word
  bool plural = false;
};

class SentenceParser {
 public:
  SentenceParser(const std::vector<std::string>& tokens, std::vector<Claim>& claims) : t_(tokens), out_(claims) {}

  // Parses clause after clause; a clause that fails skips to the next separator. True when the
  // whole sentence parsed and agreed.
  bool parse() {
    bool clean = true;
    while (p_ < t_.size()) {
      if (!clause()) {
        clean = false;
        skip_to_separator();
      } else if (p_ < t_.size() && !separator()) {
        clean = false;
        skip_to_separator();
      }
    }
    return clean && agree_;
  }

 private:
  struct Mark {
    size_t p, claims;
    bool agree;
  };
  Mark mark() const { return {p_, out_.size(), agree_}; }
  bool reset(const Mark& m) {
    p_ = m.p;
    out_.resize(m.claims);
    agree_ = m.agree;
    return false;
  }
  const std::string& peek(size_t ahead = 0) const {
    static const std::string kEnd;
    return p_ + ahead < t_.size() ? t_[p_ + ahead] : kEnd;
  }
  bool accept(std::string_view w) {
    if (peek() != w) return false;
    ++p_;
    return true;
  }
  bool accept_all(std::initializer_list<std::string_view> words) {
    Mark m = mark();
    for (auto w : words) {
      if (!accept(w)) return reset(m);
    }
    return true;
  }
  void skip_to_separator() {
    while (p_ < t_.size() && t_[p_] != kSep && t_[p_] != "and") ++p_;
    if (p_ < t_.size()) ++p_;
  }
  bool separator() {
    if (accept(kSep)) {
      accept("and");
      return true;
    }
    return accept("and");
  }
  void emit(ClaimKind kind, const NounPhrase& np, std::string value) {
    out_.push_back({kind, np.colour, np.shape, std::move(value), "", ""});
  }
  // "a" before a consonant, "an" before a vowel: checks the word after the article at `at`.
  void check_article(size_t at) {
    if (at + 1 >= t_.size()) return;
    bool vowel = std::string_view("aeiou").find(t_[at + 1][0]) != std::string_view::npos;
    if ((t_[at] == "a" && vowel) || (t_[at] == "an" && !vowel)) agree_ = false;
  }

  // [SIZE] COLOUR SHAPE(s)
  std::optional<NounPhrase> np_core() {
    Mark m = mark();
    NounPhrase np;
    if (in(kSizes, peek())) np.size = t_[p_++];
    if (!in(kObjectColours, peek())) return reset(m), std::nullopt;
    np.colour = t_[p_++];
    std::string w = peek();
    np.plural = w.size() > 1 && w.back() == 's' && in(kShapes, std::string_view(w).substr(0, w.size() - 1));
    if (!np.plural && !in(kShapes, w)) return reset(m), std::nullopt;
    np.shape = np.plural ? w.substr(0, w.size() - 1) : w;
    ++p_;
    return np;
  }
  // [COUNT] np_core; agreement of the count with the noun's number.
  std::optional<NounPhrase> counted_np() {
    Mark m = mark();
    int count = count_of(peek());
    if (count > 0) {
      if (peek() == "a" || peek() == "an") check_article(p_);
      ++p_;
    }
    auto np = np_core();
    if (!np) return reset(m), std::nullopt;
    np->count = count;
    if ((count == 1 && np->plural) || (count > 1 && !np->plural)) agree_ = false;
    return np;
  }
  std::optional<std::string> cell() {
    for (const char* two : {"top left", "top right", "bottom left", "bottom right"}) {
      std::string_view s(two);
      auto space = s.find(' ');
      if (accept_all({s.substr(0, space), s.substr(space + 1)})) {
        accept("corner");
        return std::string(two);
      }
    }
    for (const char* one : {"top", "bottom", "left", "right", "center"}) {
      if (accept(one)) return std::string(one);
    }
    return std::nullopt;
  }
  // ["in"|"at"|"on"] "the" CELL ["corner"]
  std::optional<std::string> place(bool need_preposition) {
    Mark m = mark();
    bool prep = accept("in") || accept("at") || accept("on");
    if ((!prep && need_preposition) || !accept("the")) return reset(m), std::nullopt;
    auto c = cell();
    if (!c) return reset(m), std::nullopt;
    return c;
  }
  // place (SEP? place)*: one position claim per place; false when there is none.
  bool places(const NounPhrase& np) {
    auto first = place(true);
    if (!first) return false;
    emit(ClaimKind::kPosition, np, *first);
    for (;;) {
      Mark m = mark();
      separator();
      auto next = place(false);
      if (!next) {
        reset(m);
        return true;
      }
      emit(ClaimKind::kPosition, np, *next);
    }
  }
  std::optional<std::string> relation() {
    if (accept_all({"to", "the", "left", "of"}) || accept_all({"the", "left", "of"}) || accept_all({"left", "of"})) {
      return "left of";
    }
    if (accept_all({"to", "the", "right", "of"}) || accept_all({"the", "right", "of"}) || accept_all({"right", "of"})) {
      return "right of";
    }
    if (accept("above") || accept("over")) return "above";
    if (accept("below") || accept("under") || accept("beneath")) return "below";
    return std::nullopt;
  }
  void emit_relation(const NounPhrase& a, const std::string& rel, const NounPhrase& b) {
    bool flip = rel == "right of" || rel == "below";
    const NounPhrase& s = flip ? b : a;
    const NounPhrase& o = flip ? a : b;
    out_.push_back({ClaimKind::kRelation, s.colour, s.shape, flip ? (rel == "right of" ? "left of" : "above") : rel,
                    o.colour, o.shape});
  }
  // relation ("and" relation)* "the" np_core
  bool relations(const NounPhrase& subject) {
    Mark m = mark();
    std::vector<std::string> rels;
    for (auto r = relation(); r; r = accept("and") ? relation() : std::nullopt) rels.push_back(*r);
    if (rels.empty() || !accept("the")) return reset(m);
    auto object = np_core();
    if (!object) return reset(m);
    if (!object->size.empty()) emit(ClaimKind::kSize, *object, object->size);
    for (const auto& r : rels) emit_relation(subject, r, *object);
    return true;
  }

  bool background_words(bool need_noun) {
    size_t start = p_;
    static constexpr std::array<std::string_view, 7> kWords = {"white", "gray",  "black",   "plain",
                                                               "solid", "noisy", "gradient"};
    std::vector<Claim> found;
    while (in(kWords, peek())) {
      std::string w = t_[p_++];
      if (in(kBackgroundColours, w))
        found.push_back({ClaimKind::kBackgroundColour, "", "", w});
      else
        found.push_back({ClaimKind::kBackgroundStyle, "", "", w == "solid" ? "plain" : w});
    }
    if (p_ == start || (need_noun && !accept("background"))) {
      p_ = start;
      return false;
    }
    out_.insert(out_.end(), found.begin(), found.end());
    return true;
  }
  // [a|an] BGWORD+ "background"
  bool background_np() {
    Mark m = mark();
    if (peek() == "a" || peek() == "an") check_article(p_++);
    return background_words(true) || reset(m);
  }
  bool background_clause() {
    Mark m = mark();
    if (!accept_all({"the", "background", "is"})) return false;
    if (peek() == "a" || peek() == "an") check_article(p_++);
    return background_words(false) || reset(m);
  }

  bool subject_clause() {
    Mark m = mark();
    bool definite = accept("the");
    std::optional<NounPhrase> s = definite ? np_core() : counted_np();
    if (!s || (!definite && s->count != 1)) return reset(m);
    bool is = accept("is");
    if (!is && !accept("are")) return reset(m);
    if (is == s->plural) agree_ = false;
    if (!s->size.empty()) emit(ClaimKind::kSize, *s, s->size);
    if (!definite) emit(ClaimKind::kExists, *s, "");
    if (places(*s) || relations(*s)) return true;
    if (in(kSizes, peek())) {
      emit(ClaimKind::kSize, *s, t_[p_++]);
      return true;
    }
    return reset(m);
  }

  // intro: 1 "there is", 2 "there are", 3 a verb, 0 none.
  int intro() {
    if (accept_all({"there", "is"})) return 1;
    if (accept_all({"there", "are"})) return 2;
    Mark m = mark();
    if ((accept("the") || accept("this")) && (accept("image") || accept("picture")) &&
        (accept("shows") || accept("contains") || accept("has"))) {
      return 3;
    }
    reset(m);
    return accept_all({"i", "see"}) || accept_all({"we", "see"}) ? 3 : 0;
  }
  bool item(int intro_kind, bool first) {
    if (background_np()) return true;
    auto np = counted_np();
    if (!np) return false;
    if (first && intro_kind == 1 && np->plural) agree_ = false;
    if (first && intro_kind == 2 && !np->plural) agree_ = false;
    if (np->count > 0)
      emit(ClaimKind::kCount, *np, std::to_string(np->count));
    else
      emit(ClaimKind::kExists, *np, "");
    if (!np->size.empty()) emit(ClaimKind::kSize, *np, np->size);
    places(*np);
    return true;
  }
  bool enumeration() {
    Mark m = mark();
    int kind = intro();
    if (!item(kind, true)) return reset(m);
    for (;;) {
      Mark before = mark();
      if (!separator() || !item(kind, false)) {
        reset(before);
        break;
      }
    }
    Mark before_tail = mark();
    if ((accept("on") || accept("against") || accept("with")) && !background_np()) reset(before_tail);
    return true;
  }

  // "the scene feels [very] calm": a claim about no object.
  bool commentary_clause() {
    Mark m = mark();
    if (!accept("the") || !in(kCommentarySubjects, peek())) return reset(m);
    ++p_;
    if (!in(kCommentaryVerbs, peek())) return reset(m);
    ++p_;
    if (!accept("very")) accept("quite");
    if (!in(kCommentaryWords, peek())) return reset(m);
    out_.push_back({ClaimKind::kCommentary, "", "", t_[p_++], "", ""});
    return true;
  }

  bool clause() { return background_clause() || commentary_clause() || subject_clause() || enumeration(); }

  const std::vector<std::string>& t_;
  std::vector<Claim>& out_;
  size_t p_ = 0;
  bool agree_ = true;
};

bool is_word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Splits into sentences of tokens (words, "," and "#" for anything else).
struct RawSentence {
  std::vector<std::string> tokens;
  bool capitalised = false, terminated = false;
};

std::vector<RawSentence> split_sentences(std::string_view text) {
  std::vector<RawSentence> out(1);
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    if (out.back().tokens.empty() || (out.back().tokens.size() == 1 && out.back().tokens[0] == kJunk)) {
      out.back().capitalised = word[0] >= 'A' && word[0] <= 'Z';
    }
    std::string lower = word;
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    out.back().tokens.push_back(normalise(lower));
    word.clear();
  };
  for (char c : text) {
    if (is_word_char(c)) {
      word += c;
      continue;
    }
    flush();
    if (c == '.' || c == '!' || c == '?') {
      out.back().terminated = true;
      out.emplace_back();
    } else if (c == ',' || c == ';') {
      out.back().tokens.emplace_back(kSep);
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out.back().tokens.emplace_back(kJunk);
    }
  }
  flush();
  return out;
}

}  // namespace

ParsedCaption parse_caption(std::string_view text) {
  ParsedCaption caption;
  for (auto& raw : split_sentences(text)) {
    ParsedSentence s;
    for (const auto& t : raw.tokens) {
      if (t != kSep && t != kJunk) s.words.push_back(t);
    }
    if (s.words.empty()) continue;  // "..." or stray punctuation: not a sentence
    s.capitalised = raw.capitalised;
    s.terminated = raw.terminated;
    s.parsed = SentenceParser(raw.tokens, s.claims).parse();
    for (const auto& c : s.claims) {
      if (std::find(caption.claims.begin(), caption.claims.end(), c) == caption.claims.end()) {
        caption.claims.push_back(c);
      }
    }
    caption.sentences.push_back(std::move(s));
  }
  return caption;
}

}  // namespace balcap::data
