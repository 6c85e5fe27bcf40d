// The scene's claim set, claim truth and canonical claim sentences.
#include "data/scene_claims.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace balcap::data {
namespace {

const SceneGroup* find_group(const std::vector<SceneGroup>& groups, const std::string& colour,
                             const std::string& shape) {
  for (const auto& g : groups) {
    if (g.colour == colour && g.shape == shape) return &g;
  }
  return nullptr;
}

// a left of b: every cell of a is in a column left of every cell of b (above: rows).
bool relation_holds(const SceneGroup& a, const SceneGroup& b, const std::string& relation) {
  auto key = relation == "left of" ? cell_column : cell_row;
  int a_max = -1, b_min = kGrid;
  for (int c : a.cells) a_max = std::max(a_max, key(c));
  for (int c : b.cells) b_min = std::min(b_min, key(c));
  return a_max < b_min;
}

// "the red circle" / "the red circles"
std::string definite(const std::vector<SceneGroup>& groups, const std::string& colour, const std::string& shape) {
  const auto* g = find_group(groups, colour, shape);
  bool many = g != nullptr && g->cells.size() > 1;
  return "the " + colour + " " + (many ? plural(shape) : shape);
}

std::string capitalise(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

}  // namespace

std::string indefinite_article(std::string_view next_word) {
  return !next_word.empty() && std::string_view("aeiou").find(next_word[0]) != std::string_view::npos ? "an" : "a";
}

std::string number_word(int n) {
  static constexpr std::array<const char*, 10> kWords = {"zero", "one", "two",   "three", "four",
                                                         "five", "six", "seven", "eight", "nine"};
  return n >= 0 && n <= 9 ? kWords[n] : std::to_string(n);
}

std::string cell_phrase(int cell) {
  std::string name(kCells[cell]);
  if (name == "top" || name == "bottom") return "at the " + name;
  if (name == "left" || name == "right") return "on the " + name;
  return "in the " + name;
}

std::vector<Claim> scene_claims(const Scene& scene) {
  std::set<Claim> out;
  out.insert({ClaimKind::kBackgroundColour, "", "", scene.background_colour});
  out.insert({ClaimKind::kBackgroundStyle, "", "", scene.background_style});
  auto groups = scene_groups(scene);
  for (const auto& g : groups) {
    out.insert({ClaimKind::kCount, g.colour, g.shape, std::to_string(g.cells.size())});
    out.insert({ClaimKind::kSize, g.colour, g.shape, g.size});
    for (int c : g.cells) out.insert({ClaimKind::kPosition, g.colour, g.shape, std::string(kCells[c])});
    for (const auto& h : groups) {
      if (&g == &h) continue;
      for (const char* rel : {"left of", "above"}) {
        if (relation_holds(g, h, rel)) out.insert({ClaimKind::kRelation, g.colour, g.shape, rel, h.colour, h.shape});
      }
    }
  }
  return {out.begin(), out.end()};
}

bool claim_holds(const Scene& scene, const Claim& c) {
  auto groups = scene_groups(scene);
  const auto* g = find_group(groups, c.colour, c.shape);
  switch (c.kind) {
    case ClaimKind::kBackgroundColour:
      return c.value == scene.background_colour;
    case ClaimKind::kBackgroundStyle:
      return c.value == scene.background_style;
    case ClaimKind::kExists:
      return g != nullptr;
    case ClaimKind::kCount:
      return g != nullptr && c.value == std::to_string(g->cells.size());
    case ClaimKind::kSize:
      return g != nullptr && c.value == g->size;
    case ClaimKind::kPosition:
      return g != nullptr &&
             std::any_of(g->cells.begin(), g->cells.end(), [&](int cell) { return kCells[cell] == c.value; });
    case ClaimKind::kRelation: {
      const auto* h = find_group(groups, c.colour2, c.shape2);
      return g != nullptr && h != nullptr && g != h && relation_holds(*g, *h, c.value);
    }
    case ClaimKind::kCommentary:
      return true;
  }
  return false;
}

bool claim_pointable(const Claim& c) { return c.kind != ClaimKind::kCommentary; }

std::string claim_sentence(const Scene& scene, const Claim& c) {
  auto groups = scene_groups(scene);
  const auto* g = find_group(groups, c.colour, c.shape);
  bool many = g != nullptr && g->cells.size() > 1;
  std::string subject = definite(groups, c.colour, c.shape);
  std::string be = many ? " are " : " is ";
  switch (c.kind) {
    case ClaimKind::kBackgroundColour:
      return "The background is " + c.value + ".";
    case ClaimKind::kBackgroundStyle:
      return c.value == "gradient" ? "The background is a gradient." : "The background is " + c.value + ".";
    case ClaimKind::kExists:
      return "There is a " + c.colour + " " + c.shape + ".";
    case ClaimKind::kCount: {
      int n = std::stoi(c.value);
      return n == 1 ? "There is one " + c.colour + " " + c.shape + "."
                    : "There are " + number_word(n) + " " + c.colour + " " + plural(c.shape) + ".";
    }
    case ClaimKind::kSize:
      return capitalise(subject) + be + c.value + ".";
    case ClaimKind::kPosition: {
      int cell = static_cast<int>(std::find(kCells.begin(), kCells.end(), c.value) - kCells.begin());
      if (cell >= static_cast<int>(kCells.size())) return "";
      std::string who =
          many ? capitalise(indefinite_article(c.colour)) + " " + c.colour + " " + c.shape : capitalise(subject);
      return who + " is " + cell_phrase(cell) + ".";
    }
    case ClaimKind::kRelation: {
      std::string rel = c.value == "left of" ? "to the left of" : "above";
      return capitalise(subject) + be + rel + " " + definite(groups, c.colour2, c.shape2) + ".";
    }
    case ClaimKind::kCommentary:
      return "The scene feels " + c.value + ".";
  }
  return "";
}

}  // namespace balcap::data
