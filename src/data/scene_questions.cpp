// make_questions: up to three multiple-choice questions a scene answers unambiguously.
#include "data/scene_questions.h"

#include <algorithm>
#include <string>
#include <vector>

#include "data/scene_claims.h"

namespace balcap::data {
namespace {

template <class T>
void shuffle(std::vector<T>& v, SplitMix64& rng) {
  for (size_t i = v.size(); i-- > 1;) std::swap(v[i], v[rng.uniform(i + 1)]);
}

// `answer` plus `n - 1` other words of `pool`, shuffled.
template <size_t N>
std::vector<std::string> choices_with(const std::string& answer, const std::array<std::string_view, N>& pool, size_t n,
                                      SplitMix64& rng) {
  std::vector<std::string> others;
  for (auto w : pool) {
    if (w != answer) others.emplace_back(w);
  }
  shuffle(others, rng);
  others.resize(std::min(others.size(), n - 1));
  others.push_back(answer);
  shuffle(others, rng);
  return others;
}

int count_with(const std::vector<SceneGroup>& groups, const std::string& colour, const std::string& shape) {
  return static_cast<int>(std::count_if(groups.begin(), groups.end(), [&](const SceneGroup& g) {
    return (colour.empty() || g.colour == colour) && (shape.empty() || g.shape == shape);
  }));
}

QaItem ask(const SceneQuestion& q, const std::vector<SceneGroup>& groups, const Scene& scene, SplitMix64& rng) {
  const SceneGroup* g = nullptr;
  for (const auto& h : groups) {
    if ((q.colour.empty() || h.colour == q.colour) && (q.shape.empty() || h.shape == q.shape)) g = &h;
  }
  bool many = g != nullptr && g->cells.size() > 1;
  std::string be = many ? "are" : "is";
  QaItem item;
  std::string answer;
  if (q.ask == "background") {
    item.question = "What colour is the background?";
    item.choices.assign(kBackgroundColours.begin(), kBackgroundColours.end());
    answer = scene.background_colour;
  } else if (q.ask == "count") {
    item.question = "How many " + q.colour + " " + plural(q.shape) + " are there?";
    item.choices = {"one", "two", "three", "four"};
    answer = number_word(static_cast<int>(g->cells.size()));
  } else if (q.ask == "colour") {
    item.question = "What colour " + be + " the " + (many ? plural(q.shape) : q.shape) + "?";
    item.choices = choices_with(g->colour, kObjectColours, 4, rng);
    answer = g->colour;
  } else if (q.ask == "shape") {
    item.question = "What shape " + be + " the " + q.colour + (many ? " objects?" : " object?");
    item.choices = choices_with(g->shape, kShapes, 4, rng);
    answer = g->shape;
  } else if (q.ask == "position") {
    item.question = "Where is the " + q.colour + " " + q.shape + "?";
    item.choices = choices_with(std::string(kCells[g->cells[0]]), kCells, 4, rng);
    answer = std::string(kCells[g->cells[0]]);
  } else {  // size
    item.question = "What size " + be + " the " + q.colour + " " + (many ? plural(q.shape) : q.shape) + "?";
    item.choices.assign(kSizes.begin(), kSizes.end());
    answer = g->size;
  }
  item.answer = std::find(item.choices.begin(), item.choices.end(), answer) - item.choices.begin();
  return item;
}

}  // namespace

std::vector<QaItem> make_questions(Scene& scene, SplitMix64& rng) {
  auto groups = scene_groups(scene);
  std::vector<SceneQuestion> candidates = {{"background", "", ""}};
  for (const auto& g : groups) {
    candidates.push_back({"count", g.colour, g.shape});
    candidates.push_back({"size", g.colour, g.shape});
    if (count_with(groups, "", g.shape) == 1) candidates.push_back({"colour", "", g.shape});
    if (count_with(groups, g.colour, "") == 1) candidates.push_back({"shape", g.colour, ""});
    if (g.cells.size() == 1) candidates.push_back({"position", g.colour, g.shape});
  }
  shuffle(candidates, rng);
  candidates.resize(std::min<size_t>(candidates.size(), 3));
  scene.questions = candidates;
  std::vector<QaItem> qa;
  for (const auto& q : candidates) qa.push_back(ask(q, groups, scene, rng));
  return qa;
}

}  // namespace balcap::data
