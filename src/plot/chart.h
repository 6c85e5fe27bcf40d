#pragma once
// Private to src/plot: Line charts for `balcap plot`: a Figure is a title, a grid of Panels (each with axes, ticks, numeric labels and one
// line per Series) and one legend shared by all panels (a series' colour is that of its label, so "run A" has the same
// colour in every panel). Torch-free.
//
// layout_figure() places everything in pixels once (text measured with the real font through Cairo); plot/render.h
// draws that layout on a raster (PNG) or vector (SVG) surface, so both formats show the same chart.
//
// Layout (pixels): width = columns * panel_width; height = kTitleHeight + rows * panel_height + legend rows *
// kLegendRowHeight + kLegendPadding.
#include <cstdint>
#include <string>
#include <vector>

#include "plot/ticks.h"

namespace balcap::plot {

inline constexpr int kTitleHeight = 30;
inline constexpr int kLegendRowHeight = 16;
inline constexpr int kLegendPadding = 8;
inline constexpr int kMaxSide = 16384;  // pixels; a larger figure is refused

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kText{30, 30, 30};
inline constexpr Rgb kFrame{90, 90, 90};
inline constexpr Rgb kGrid{228, 228, 228};

// One line: y against x; a NaN y leaves a gap (an isolated point is drawn as a dot). x ascending.
struct Series {
  std::string label;  // legend entry
  std::vector<double> x, y;
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

struct Figure {
  std::string title;
  std::vector<Panel> panels;
  int columns = 1;  // panels per row (clamped to the panel count)
  int panel_width = 800;
  int panel_height = 460;
  double line_width = 2.0;
};

// Text is DejaVu Sans (fonts-dejavu-core) at `size` pixels; fontconfig substitutes a sans face when it is missing.
struct Font {
  double size = 11;
  bool bold = false;
};
inline constexpr Font kTitleFont{15, true};
inline constexpr Font kTextFont{11, false};

// A rectangle in pixels. Pixel (x, y) covers [x, x + 1) x [y, y + 1), so its centre is (x + 0.5, y + 0.5).
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
};

// A string and the box its line occupies (font ascent to descent). vertical: turned a quarter counter-clockwise
// (y-axis labels); the box is then the turned one, the text running up from its bottom edge.
struct TextItem {
  std::string text;
  Box box;
  Font font;
  Rgb color = kText;
  bool vertical = false;
};

// A legend swatch: a line from (x0, y) to (x1, y) in `color`, its label in the figure's texts.
struct LegendEntry {
  std::string label;
  Rgb color;
  double x0 = 0, x1 = 0, y = 0;
};

struct PanelLayout {
  bool visible = false;  // false: the panel is too small to draw anything useful
  Box area;              // the plot area; lines are clipped to it, the frame is drawn just outside it
  Ticks x, y;
  // Where a data point lands: the centre of the pixel it falls on (the area's edge pixels are the axis ends).
  double px(double v) const { return area.x0 + 0.5 + (v - x.lo) / (x.hi - x.lo) * (area.width() - 1); }
  double py(double v) const { return area.y1 - 0.5 - (v - y.lo) / (y.hi - y.lo) * (area.height() - 1); }
};

struct FigureLayout {
  int width = 0, height = 0;
  std::vector<PanelLayout> panels;  // one per Figure panel, in order
  std::vector<TextItem> texts;      // every string drawn, the figure title first
  std::vector<LegendEntry> legend;  // one per distinct series label, in order of appearance
  double legend_top = 0;
  int legend_rows = 0;
};

// Colour of the i-th legend entry (a fixed palette of distinct colours, then darker repeats).
Rgb series_color(size_t index);

// Places the figure. Throws balcap::Error when it has no panel or is larger than kMaxSide on a side.
FigureLayout layout_figure(const Figure& figure);

}  // namespace balcap::plot
