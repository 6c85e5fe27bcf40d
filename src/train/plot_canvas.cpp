// Canvas: see src/train/plot_canvas.h.
#include "train/plot_canvas.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace balcap::train {
namespace {

constexpr int kMaxSide = 16384;

// Distance from p to the segment [a, b] (a == b: to the point).
double segment_distance(Point p, Point a, Point b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

Rect intersect(Rect a, Rect b) {
  Rect r{std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1), std::min(a.y1, b.y1)};
  if (r.x1 < r.x0) r.x1 = r.x0;
  if (r.y1 < r.y0) r.y1 = r.y0;
  return r;
}

// Pixels a stroke of half-width `hw` along [a, b] can touch.
Rect segment_box(Point a, Point b, double hw) {
  const double pad = hw + 1.0;
  return {static_cast<int>(std::floor(std::min(a.x, b.x) - pad)),
          static_cast<int>(std::floor(std::min(a.y, b.y) - pad)),
          static_cast<int>(std::ceil(std::max(a.x, b.x) + pad)) + 1,
          static_cast<int>(std::ceil(std::max(a.y, b.y) + pad)) + 1};
}

}  // namespace

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  BALCAP_CHECK(width > 0 && height > 0 && width <= kMaxSide && height <= kMaxSide,
               "plot: canvas size {}x{} is outside 1..{}\nHINT: use fewer panels or a smaller panel size", width,
               height, kMaxSide);
  rgb_.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
}

Rgb Canvas::pixel(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return {};
  const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Canvas::blend(int x, int y, Rgb color, double alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || !(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
  const uint8_t src[3] = {color.r, color.g, color.b};
  for (int c = 0; c < 3; ++c) {
    const double v = rgb_[i + c] * (1.0 - alpha) + src[c] * alpha;
    rgb_[i + c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
  }
}

void Canvas::fill_rect(Rect r, Rgb color) {
  r = intersect(r, bounds());
  for (int y = r.y0; y < r.y1; ++y) {
    for (int x = r.x0; x < r.x1; ++x) blend(x, y, color, 1.0);
  }
}

void Canvas::stroke_rect(Rect r, Rgb color) {
  fill_rect({r.x0, r.y0, r.x1, r.y0 + 1}, color);
  fill_rect({r.x0, r.y1 - 1, r.x1, r.y1}, color);
  fill_rect({r.x0, r.y0, r.x0 + 1, r.y1}, color);
  fill_rect({r.x1 - 1, r.y0, r.x1, r.y1}, color);
}

void Canvas::stroke_polyline(const std::vector<Point>& points, Rgb color, StrokeStyle style, Rect clip) {
  if (points.empty()) return;
  const double hw = std::max(style.width, 0.0) / 2.0;
  // The region all segments can touch; coverage: [box.height, box.width], max over segments.
  Rect box = segment_box(points.front(), points.front(), hw);
  for (const Point& p : points) {
    const Rect b = segment_box(p, p, hw);
    box = {std::min(box.x0, b.x0), std::min(box.y0, b.y0), std::max(box.x1, b.x1), std::max(box.y1, b.y1)};
  }
  box = intersect(intersect(box, clip), bounds());
  if (box.width() == 0 || box.height() == 0) return;
  std::vector<float> coverage(static_cast<size_t>(box.width()) * box.height(), 0.0f);
  const size_t segments = points.size() == 1 ? 1 : points.size() - 1;  // one point: a dot
  for (size_t i = 0; i < segments; ++i) {
    const Point a = points[i], b = points[std::min(i + 1, points.size() - 1)];
    const Rect s = intersect(segment_box(a, b, hw), box);
    for (int y = s.y0; y < s.y1; ++y) {
      for (int x = s.x0; x < s.x1; ++x) {
        // A pixel is a unit square: coverage ramps from 1 to 0 over the pixel at the edge.
        const double c = std::clamp(hw + 0.5 - segment_distance({double(x), double(y)}, a, b), 0.0, 1.0);
        float& cell = coverage[static_cast<size_t>(y - box.y0) * box.width() + (x - box.x0)];
        cell = std::max(cell, static_cast<float>(c));
      }
    }
  }
  for (int y = box.y0; y < box.y1; ++y) {
    for (int x = box.x0; x < box.x1; ++x) {
      const double c = coverage[static_cast<size_t>(y - box.y0) * box.width() + (x - box.x0)];
      blend(x, y, color, style.antialias ? c : (c >= 0.5 ? 1.0 : 0.0));
    }
  }
}

Image Canvas::image() const {
  Image out;
  out.width = width_;
  out.height = height_;
  out.rgb = rgb_;
  return out;
}

}  // namespace balcap::train
