// Scene JSON round trip, its checks, and grouping of objects by colour and shape.
#include "data/scene.h"

#include <algorithm>
#include <map>
#include <string>

#include "core/error.h"

namespace balcap::data {
namespace {

constexpr const char* kHint = "HINT: scenes are written by `balcap data synth`; regenerate the data";

template <size_t N>
std::string join_words(const std::array<std::string_view, N>& words) {
  std::string out;
  for (auto w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

template <size_t N>
int index_of(const std::array<std::string_view, N>& words, std::string_view w) {
  auto it = std::find(words.begin(), words.end(), w);
  return it == words.end() ? -1 : static_cast<int>(it - words.begin());
}

template <size_t N>
std::string word(const nlohmann::json& j, const char* key, const std::array<std::string_view, N>& allowed,
                 const std::string& where) {
  BALCAP_CHECK(j.is_object() && j.contains(key) && j[key].is_string(), "scene: {} needs a string \"{}\". {}", where,
               key, kHint);
  auto value = j[key].get<std::string>();
  BALCAP_CHECK(index_of(allowed, value) >= 0, "scene: {} \"{}\" is '{}', not one of: {}. {}", where, key, value,
               join_words(allowed), kHint);
  return value;
}

int small_int(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return 0;
  BALCAP_CHECK(j[key].is_number_integer() && std::abs(j[key].get<std::int64_t>()) <= 1000,
               "scene: {} \"{}\" must be an integer pixel offset, got {}. {}", where, key, j[key].dump(), kHint);
  return j[key].get<int>();
}

SceneObject object_from_json(const nlohmann::json& j, size_t i) {
  std::string where = "objects[" + std::to_string(i) + "]";
  SceneObject o;
  o.colour = word(j, "colour", kObjectColours, where);
  o.shape = word(j, "shape", kShapes, where);
  o.size = word(j, "size", kSizes, where);
  o.cell = index_of(kCells, word(j, "cell", kCells, where));
  o.dx = small_int(j, "dx", where);
  o.dy = small_int(j, "dy", where);
  return o;
}

SceneQuestion question_from_json(const nlohmann::json& j, size_t i) {
  static constexpr std::array<std::string_view, 6> kAsks = {"background", "count",    "colour",
                                                            "shape",      "position", "size"};
  std::string where = "qa[" + std::to_string(i) + "]";
  SceneQuestion q;
  q.ask = word(j, "ask", kAsks, where);
  if (j.contains("colour")) q.colour = word(j, "colour", kObjectColours, where);
  if (j.contains("shape")) q.shape = word(j, "shape", kShapes, where);
  return q;
}

void check_consistent(const Scene& s) {
  std::vector<bool> used(kCells.size(), false);
  std::map<std::pair<std::string, std::string>, std::string> sizes;
  for (const auto& o : s.objects) {
    BALCAP_CHECK(!used[o.cell], "scene: two objects in the {} cell. {}", kCells[o.cell], kHint);
    used[o.cell] = true;
    auto [it, fresh] = sizes.emplace(std::pair{o.colour, o.shape}, o.size);
    BALCAP_CHECK(fresh || it->second == o.size, "scene: the {} {} are both {} and {}. {}", o.colour, plural(o.shape),
                 it->second, o.size, kHint);
  }
}

}  // namespace

std::string plural(std::string_view shape) { return std::string(shape) + "s"; }
int cell_row(int cell) { return cell / kGrid; }
int cell_column(int cell) { return cell % kGrid; }

std::vector<SceneGroup> scene_groups(const Scene& scene) {
  std::vector<const SceneObject*> by_cell;
  for (const auto& o : scene.objects) by_cell.push_back(&o);
  std::sort(by_cell.begin(), by_cell.end(), [](auto* a, auto* b) { return a->cell < b->cell; });
  std::vector<SceneGroup> groups;
  for (const auto* o : by_cell) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const SceneGroup& g) { return g.colour == o->colour && g.shape == o->shape; });
    if (it == groups.end()) it = groups.insert(groups.end(), SceneGroup{o->colour, o->shape, o->size, {}});
    it->cells.push_back(o->cell);
  }
  return groups;
}

nlohmann::json scene_to_json(const Scene& s) {
  nlohmann::json objects = nlohmann::json::array(), qa = nlohmann::json::array();
  for (const auto& o : s.objects) {
    objects.push_back({{"colour", o.colour},
                       {"shape", o.shape},
                       {"size", o.size},
                       {"cell", std::string(kCells[o.cell])},
                       {"dx", o.dx},
                       {"dy", o.dy}});
  }
  for (const auto& q : s.questions) {
    nlohmann::json j = {{"ask", q.ask}};
    if (!q.colour.empty()) j["colour"] = q.colour;
    if (!q.shape.empty()) j["shape"] = q.shape;
    qa.push_back(j);
  }
  return {
      {"size", s.size},
      {"background",
       {{"colour", s.background_colour}, {"style", s.background_style}, {"noise_seed", std::to_string(s.noise_seed)}}},
      {"objects", objects},
      {"qa", qa}};
}

Scene scene_from_json(const nlohmann::json& j) {
  BALCAP_CHECK(j.is_object(), "scene: must be a JSON object, got {}. {}", j.type_name(), kHint);
  Scene s;
  BALCAP_CHECK(j.contains("size") && j["size"].is_number_integer() && j["size"].get<std::int64_t>() >= 9 &&
                   j["size"].get<std::int64_t>() <= 4096,
               "scene: \"size\" must be an integer pixel size in [9, 4096]. {}", kHint);
  s.size = j["size"].get<int>();
  BALCAP_CHECK(j.contains("background"), "scene: missing \"background\". {}", kHint);
  const auto& bg = j["background"];
  s.background_colour = word(bg, "colour", kBackgroundColours, "background");
  s.background_style = word(bg, "style", kBackgroundStyles, "background");
  if (bg.contains("noise_seed")) {
    BALCAP_CHECK(bg["noise_seed"].is_string(), "scene: background \"noise_seed\" must be a decimal string. {}", kHint);
    try {
      s.noise_seed = std::stoull(bg["noise_seed"].get<std::string>());
    } catch (const std::exception&) {
      fail("scene: background \"noise_seed\" '{}' is not a decimal number. {}", bg["noise_seed"].get<std::string>(),
           kHint);
    }
  }
  BALCAP_CHECK(j.contains("objects") && j["objects"].is_array(), "scene: needs an \"objects\" array. {}", kHint);
  for (size_t i = 0; i < j["objects"].size(); ++i) s.objects.push_back(object_from_json(j["objects"][i], i));
  if (j.contains("qa")) {
    BALCAP_CHECK(j["qa"].is_array(), "scene: \"qa\" must be an array. {}", kHint);
    for (size_t i = 0; i < j["qa"].size(); ++i) s.questions.push_back(question_from_json(j["qa"][i], i));
  }
  check_consistent(s);
  return s;
}

}  // namespace balcap::data
