#pragma once
// The scene grammar: reads the claims a caption makes about a synthetic scene (docs/data.md,
// "The scene grammar"). Case-insensitive; sentences end at . ! ? (a last sentence without one is
// "unterminated"); "," ";" "and" separate clauses and list items. Synonyms: grey = gray,
// centre/middle = center, big = large, upper = top, lower = bottom, under/below/beneath.
//
//   sentence    := clause (SEP clause)*                SEP := "," ["and"] | "and"
//   clause      := bg_clause | commentary | subject_clause | enumeration
//   commentary  := "the" CSUBJECT CVERB ["very"|"quite"] CWORD        -> commentary claim (not pointable)
//   bg_clause   := "the background is" [a|an] BGWORD+             -> background colour/style claims
//   subject_clause := subject ("is"|"are") predicate
//   subject     := "the" np_core | ("a"|"an"|"one") np_core        -> no count claim
//   predicate   := place (SEP? place)*                            -> one position claim per place
//                | SIZE                                           -> size claim
//                | relation ("and" relation)* "the" np_core        -> relation claims
//   enumeration := [intro] item (SEP item)* [("on"|"against"|"with") bg_np]
//   intro       := "there is" | "there are" | ("the"|"this") ("image"|"picture") ("shows"|"contains"|"has")
//                | ("i"|"we") "see"
//   item        := bg_np | np
//   np          := [COUNT] np_core [place (SEP? place)*]          -> count claim (or exists without COUNT),
//                                                                    size claim, position claims
//   np_core     := [SIZE] COLOUR SHAPE | [SIZE] COLOUR SHAPE "s"
//   bg_np       := [a|an] BGWORD+ "background"
//   place       := ["in"|"at"|"on"] "the" CELL ["corner"]        (the preposition may be left out after SEP)
//   relation    := ["to"] "the" ("left"|"right") "of" | ("left"|"right") "of" | "above" | "over" | "below" | "under" |
//   "beneath" COUNT := a | an | one..nine | 1..9     SIZE := small | large     COLOUR := the object colours SHAPE :=
//   circle | square | triangle | diamond     BGWORD := white | gray | black | plain | solid | gradient | noisy CELL  :=
//   top left | top right | bottom left | bottom right | top | bottom | left | right | center
//   CSUBJECT, CVERB, CWORD := kCommentarySubjects, kCommentaryVerbs, kCommentaryWords (scene_claims.h)
//
// Grammatical sentence: the whole sentence parses, starts with a capital letter, ends with . ! ?,
// and agrees in number (a/an/one + singular, two.. + plural, "is"/"are" with its subject, "there
// is"/"there are" with the first item, "a" before a consonant and "an" before a vowel).
// Claims are still read from the clauses that parse in a sentence that does not.
#include <string>
#include <string_view>
#include <vector>

#include "data/scene_claims.h"

namespace balcap::data {

struct ParsedSentence {
  std::vector<std::string> words;  // lower-case words (synonyms normalised), separators left out
  bool capitalised = false;        // first letter is upper case
  bool terminated = false;         // ends with . ! ?
  bool parsed = false;             // every token is part of a clause and numbers agree
  std::vector<Claim> claims;       // in order of appearance
  bool grammatical() const { return capitalised && terminated && parsed; }
};

struct ParsedCaption {
  std::vector<ParsedSentence> sentences;  // sentences with at least one word
  std::vector<Claim> claims;              // all sentences' claims, duplicates removed, first-seen order
};

ParsedCaption parse_caption(std::string_view text);

}  // namespace balcap::data
