#pragma once
// A synthetic scene (docs/data.md, "Synthetic scenes"): coloured shapes in the cells of a 3x3
// grid on a plain, gradient or noisy background. The scene is the ground truth: `balcap data
// synth` renders it, writes its references/QA/claims, and stores it in the record's "scene"
// field, where the scene scorers (rewards/scene_objectives.h) judge captions against it.
//
// JSON form (the record's "scene"):
//   {"size": 84,
//    "background": {"colour": "gray", "style": "noisy", "noise_seed": "1234"},
//    "objects": [{"colour": "red", "shape": "circle", "size": "small", "cell": "top left",
//                 "dx": 1, "dy": -2}, ...],                  // dx, dy: pixel offset from the cell centre
//    "qa": [{"ask": "count", "colour": "red", "shape": "circle"}, ...]}   // one per record qa item
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace balcap::data {

// The vocabulary. Object and background colours are disjoint so a colour word names one thing.
inline constexpr std::array<std::string_view, 6> kObjectColours = {"red",    "green",  "blue",
                                                                   "yellow", "purple", "orange"};
inline constexpr std::array<std::string_view, 3> kBackgroundColours = {"white", "gray", "black"};
inline constexpr std::array<std::string_view, 3> kBackgroundStyles = {"plain", "gradient", "noisy"};
inline constexpr std::array<std::string_view, 4> kShapes = {"circle", "square", "triangle", "diamond"};
inline constexpr std::array<std::string_view, 2> kSizes = {"small", "large"};
// The 3x3 cells, row-major: cell index = 3 * row + column.
inline constexpr std::array<std::string_view, 9> kCells = {
    "top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right"};
inline constexpr int kGrid = 3;

struct SceneObject {
  std::string colour, shape, size;
  int cell = 0;        // 0..8
  int dx = 0, dy = 0;  // offset of the shape's centre from the cell centre, pixels
};

// What a multiple-choice question of the record asks (aligned with Record::qa):
// ask = "background" (its colour), "count", "colour" (of the `shape`), "shape" (of the `colour`),
// "position" (cell of the single colour+shape object), "size" (of the colour+shape objects).
struct SceneQuestion {
  std::string ask, colour, shape;
};

struct Scene {
  int size = 84;  // image side, pixels
  std::string background_colour = "gray";
  std::string background_style = "plain";
  std::uint64_t noise_seed = 0;
  std::vector<SceneObject> objects;  // at most one per cell
  std::vector<SceneQuestion> questions;
};

// Objects of one colour and shape. Within a scene they share a size (the generator makes them so;
// the JSON check enforces it), and different groups differ in colour or shape.
struct SceneGroup {
  std::string colour, shape, size;
  std::vector<int> cells;  // ascending
};
// Groups in order of their first cell (reading order).
std::vector<SceneGroup> scene_groups(const Scene& scene);

nlohmann::json scene_to_json(const Scene& scene);
// Checks every key and value; a bad scene -> balcap::Error "scene: <what>" with a HINT.
Scene scene_from_json(const nlohmann::json& json);

// "circle" -> "circles"
std::string plural(std::string_view shape);
int cell_row(int cell);
int cell_column(int cell);

}  // namespace balcap::data
