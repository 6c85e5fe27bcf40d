// render_scene: background fill, then each object composited with 4x4-supersampled coverage.
#include "data/scene_render.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "core/error.h"
#include "data/data_order.h"

namespace balcap::data {
namespace {

constexpr int kSub = 4;  // supersampling per axis

double radius_of(double cell_side, std::string_view size) { return (size == "large" ? 0.42 : 0.26) * cell_side; }

// Is the point (x, y), relative to the shape's centre, inside the shape of radius r?
bool inside(std::string_view shape, double x, double y, double r) {
  if (shape == "circle") return x * x + y * y <= r * r;
  if (shape == "square") return std::max(std::abs(x), std::abs(y)) <= 0.82 * r;
  if (shape == "diamond") return std::abs(x) + std::abs(y) <= 1.15 * r;
  // triangle, apex up: half-width grows linearly from 0 at y = -r to 0.98 r at y = 0.7 r
  if (y < -r || y > 0.7 * r) return false;
  return std::abs(x) <= (y + r) / (1.7 * r) * 0.98 * r;
}

std::uint8_t clamp_byte(int v) { return static_cast<std::uint8_t>(std::clamp(v, 0, 255)); }

void fill_background(const Scene& scene, vision::Image& img) {
  auto base = colour_rgb(scene.background_colour);
  SplitMix64 noise(scene.noise_seed);
  for (int y = 0; y < img.height; ++y) {
    int gradient = scene.background_style == "gradient"
                       ? static_cast<int>(std::lround(30.0 - 60.0 * y / std::max(1, img.height - 1)))
                       : 0;
    for (int x = 0; x < img.width; ++x) {
      int offset = gradient;
      if (scene.background_style == "noisy") offset = static_cast<int>(noise.uniform(49)) - 24;
      auto* px = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
      for (int c = 0; c < 3; ++c) px[c] = clamp_byte(base[c] + offset);
    }
  }
}

void draw_object(const SceneObject& o, int image_size, vision::Image& img) {
  const double cell_side = image_size / static_cast<double>(kGrid);
  const double cx = (cell_column(o.cell) + 0.5) * cell_side + o.dx;
  const double cy = (cell_row(o.cell) + 0.5) * cell_side + o.dy;
  const double r = radius_of(cell_side, o.size) * 1.2;  // bounding box with room for every shape
  const auto colour = colour_rgb(o.colour);
  const double rr = radius_of(cell_side, o.size);
  int x0 = std::max(0, static_cast<int>(cx - r)), x1 = std::min(img.width - 1, static_cast<int>(cx + r) + 1);
  int y0 = std::max(0, static_cast<int>(cy - r)), y1 = std::min(img.height - 1, static_cast<int>(cy + r) + 1);
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      int covered = 0;  // of kSub * kSub samples
      for (int j = 0; j < kSub; ++j) {
        for (int i = 0; i < kSub; ++i) {
          covered += inside(o.shape, x + (i + 0.5) / kSub - cx, y + (j + 0.5) / kSub - cy, rr);
        }
      }
      if (covered == 0) continue;
      auto* px = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
      constexpr int kAll = kSub * kSub;
      for (int c = 0; c < 3; ++c)
        px[c] = static_cast<std::uint8_t>((px[c] * (kAll - covered) + colour[c] * covered + kAll / 2) / kAll);
    }
  }
}

}  // namespace

std::array<std::uint8_t, 3> colour_rgb(std::string_view colour) {
  static const std::map<std::string, std::array<std::uint8_t, 3>, std::less<>> kRgb = {
      {"red", {220, 40, 40}},     {"green", {40, 170, 70}},   {"blue", {40, 90, 220}},
      {"yellow", {240, 210, 40}}, {"purple", {140, 70, 200}}, {"orange", {245, 140, 30}},
      {"white", {240, 240, 240}}, {"gray", {128, 128, 128}},  {"black", {25, 25, 25}}};
  auto it = kRgb.find(colour);
  BALCAP_CHECK(it != kRgb.end(), "scene: unknown colour '{}'. HINT: see docs/data.md for the vocabulary", colour);
  return it->second;
}

int max_offset(int image_size, std::string_view size) {
  double cell_side = image_size / static_cast<double>(kGrid);
  return std::max(0, static_cast<int>(std::floor(cell_side / 2 - radius_of(cell_side, size) * 1.15 - 1)));
}

vision::Image render_scene(const Scene& scene) {
  vision::Image img;
  img.width = img.height = scene.size;
  img.rgb.assign(static_cast<size_t>(scene.size) * scene.size * 3, 0);
  fill_background(scene, img);
  for (const auto& o : scene.objects) draw_object(o, scene.size, img);
  return img;
}

}  // namespace balcap::data
