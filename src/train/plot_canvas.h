#pragma once
// An RGB raster for `balcap plot`: solid fills, anti-aliased strokes and the result as an Image (encoded with
// vision/png_encode.h). Torch-free.
//
// Coordinates are in pixels with pixel (x, y) centred on the integer point (x, y): a stroke from (10, 20) to (50, 20)
// of width 1 covers exactly the pixels x = 10..50 of row 20.
#include <cstdint>
#include <vector>

#include "vision/image.h"

namespace balcap::train {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kBlack{0, 0, 0};

// A clip rectangle, inclusive of x0/y0, exclusive of x1/y1.
struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

struct Point {
  double x = 0, y = 0;
};

struct StrokeStyle {
  double width = 1.0;     // pixels
  bool antialias = true;  // false: a pixel is painted fully when at least half
                          // covered, else not at all
};

class Canvas {
 public:
  // A width x height canvas filled with `background`. Sizes must be in 1..16384 (else balcap::Error).
  Canvas(int width, int height, Rgb background = kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  Rect bounds() const { return {0, 0, width_, height_}; }

  Rgb pixel(int x, int y) const;
  // Paints (x, y) with `color` at `alpha` in [0, 1] over what is there; outside the canvas: no-op.
  void blend(int x, int y, Rgb color, double alpha);
  void fill_rect(Rect r, Rgb color);
  // A 1-pixel outline just inside `r`.
  void stroke_rect(Rect r, Rgb color);

  // A polyline through `points` (round joins and caps), clipped to `clip`. Coverage is the max over its segments, so
  // joins are not painted twice. A single point draws a dot.
  void stroke_polyline(const std::vector<Point>& points, Rgb color, StrokeStyle style, Rect clip);
  void stroke_line(Point a, Point b, Rgb color, StrokeStyle style, Rect clip) {
    stroke_polyline({a, b}, color, style, clip);
  }

  // The pixels as an Image ([height, width, 3] HWC).
  Image image() const;

 private:
  int width_ = 0, height_ = 0;
  std::vector<uint8_t> rgb_;  // [height, width, 3]
};

}  // namespace balcap::train
