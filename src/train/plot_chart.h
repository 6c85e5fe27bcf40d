#pragma once
// Line charts for `balcap plot`: a Figure is a title, a grid of Panels (each with axes, ticks, numeric labels and one
// line per Series) and one legend shared by all panels (a series' colour is that of its label, so "run A" has the same
// colour in every panel). Torch-free.
//
// Layout (pixels): width = columns * panel_width; height = kTitleHeight + rows * panel_height + legend rows *
// kLegendRowHeight + kLegendPadding.
#include <string>
#include <vector>

#include "train/plot_canvas.h"
#include "vision/image.h"

namespace balcap::train {

inline constexpr int kTitleHeight = 30;
inline constexpr int kLegendRowHeight = 16;
inline constexpr int kLegendPadding = 8;

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

// Axis ticks: "nice" values (1, 2 or 5 times a power of ten) covering [lo, hi].
struct Ticks {
  double lo = 0, hi = 1,
         step = 1;             // the axis range (padded) and the tick spacing
  std::vector<double> values;  // ticks inside [lo, hi]
};

// The y range of `values` (NaN/Inf ignored): padded by 5% of the span on each side; a constant series gets +-10% of its
// magnitude (+-1 around 0); no finite value -> [0, 1].
Ticks y_ticks(const std::vector<double>& values, int max_ticks = 8);
// Integer-friendly ticks for steps over [lo, hi] (lo == hi widened by 1 each side).
Ticks x_ticks(double lo, double hi, int max_ticks = 8);
// Tick label: the fewest decimals that tell ticks `step` apart; 1e5 or more / tiny steps: 3 significant digits.
std::string tick_label(double value, double step);

// Colour of the i-th legend entry (a fixed palette of distinct colours, then darker repeats).
Rgb series_color(size_t index);

// Draws the figure. Throws balcap::Error when it has no panel.
Image render_figure(const Figure& figure);

}  // namespace balcap::train
