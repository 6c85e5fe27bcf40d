#pragma once
// Atomic claims about a synthetic scene: what a caption can assert and the scene can check.
// The scene's complete claim set is the ground truth the references state and the `claims`
// field lists (one canonical sentence per claim); the scene scorers compare a caption's parsed
// claims (scene_grammar.h) with it.
#include <array>
#include <compare>
#include <string>
#include <string_view>
#include <vector>

#include "data/scene.h"

namespace balcap::data {

enum class ClaimKind {
  kBackgroundColour,  // value: white | gray | black
  kBackgroundStyle,   // value: plain | gradient | noisy
  kExists,            // some colour+shape object exists (captions only: "red circles", "a red circle is ...")
  kCount,             // value: the number of colour+shape objects, "1".."9"
  kSize,              // value: small | large
  kPosition,          // value: a cell name (kCells); some colour+shape object is in that cell
  kRelation,          // value: "left of" | "above"; every subject object is left of / above every object one
  kCommentary,        // value: a quality word (kCommentaryWords), e.g. "The scene feels calm." (captions only):
                      // about no object, so it cannot be refuted (claim_holds) and is not pointable
};

// Meta-commentary in the scene world: "The <subject> <verb> [very|quite] <word>." with a subject of
// kCommentarySubjects, a verb of kCommentaryVerbs and a word of kCommentaryWords. It states nothing
// a viewer could point to: the BalCapRL pointability test fails it; a truth test alone accepts it.
inline constexpr std::array<std::string_view, 5> kCommentarySubjects = {"scene", "composition", "arrangement", "mood",
                                                                        "atmosphere"};
inline constexpr std::array<std::string_view, 4> kCommentaryVerbs = {"is", "feels", "looks", "seems"};
inline constexpr std::array<std::string_view, 8> kCommentaryWords = {"calm",    "balanced", "cheerful", "playful",
                                                                     "peaceful", "lively",   "harmonious", "serene"};

struct Claim {
  ClaimKind kind = ClaimKind::kExists;
  std::string colour, shape;  // the subject (empty for background claims)
  std::string value;
  std::string colour2, shape2;  // kRelation: the object
  auto operator<=>(const Claim&) const = default;
};

// Every true claim of the scene except kExists (implied by kCount): background colour and style;
// per group its count, size and one position per object; per ordered pair of groups the
// relations that hold (a group is left of another when its rightmost column is left of the
// other's leftmost column; the same for rows with "above"). Sorted, no duplicates.
std::vector<Claim> scene_claims(const Scene& scene);

// Whether the claim is true of the scene (claims about objects not in the scene are false;
// commentary cannot be refuted, so it holds).
bool claim_holds(const Scene& scene, const Claim& claim);

// Whether the claim refers to something one can point to in the image (BalCapRL's pointability):
// every claim about an object or the background is; commentary is not.
bool claim_pointable(const Claim& claim);

// The canonical sentence for a claim, e.g. "There are two red circles.", "A blue square is in
// the center.", "The red circle is to the left of the blue squares." (plurals from the scene).
std::string claim_sentence(const Scene& scene, const Claim& claim);

// "a" or "an" before `next_word` (by its first letter: a, e, i, o, u -> "an").
std::string indefinite_article(std::string_view next_word);
// "one".."nine" for 1..9, else the digits.
std::string number_word(int n);
// The phrase a cell takes: "in the top left", "at the top", "on the left", "in the center", ...
std::string cell_phrase(int cell);

}  // namespace balcap::data
