// Line charts: ticks, layout and drawing; see src/train/plot_chart.h.
#include "train/plot_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "train/plot_font.h"

namespace balcap::train {
namespace {

constexpr Rgb kText{30, 30, 30};
constexpr Rgb kFrame{90, 90, 90};
constexpr Rgb kGrid{228, 228, 228};
constexpr int kTickLength = 4;
constexpr int kMaxTicks = 64;  // guards against a degenerate step

// The smallest 1/2/5 x 10^k that is >= raw (raw > 0).
double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw * (1 - 1e-9)) return m * p;
  }
  return 10 * p;
}

Ticks make_ticks(double lo, double hi, double step) {
  Ticks t{lo, hi, step, {}};
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && t.values.size() < kMaxTicks; v += step) {
    t.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);  // no "-0"
  }
  return t;
}

// Pixel mapping of one panel's plot area.
struct Axes {
  Rect area;
  Ticks x, y;
  double px(double x) const { return area.x0 + (x - this->x.lo) / (this->x.hi - this->x.lo) * (area.width() - 1); }
  double py(double y) const { return area.y1 - 1 - (y - this->y.lo) / (this->y.hi - this->y.lo) * (area.height() - 1); }
};

std::vector<std::string> legend_labels(const Figure& f) {
  std::vector<std::string> labels;
  for (const Panel& p : f.panels) {
    for (const Series& s : p.series) {
      if (std::find(labels.begin(), labels.end(), s.label) == labels.end()) labels.push_back(s.label);
    }
  }
  return labels;
}

// Legend entries flow left to right and wrap: top-left corner of each entry, relative to the legend.
struct LegendLayout {
  std::vector<std::array<int, 2>> origin;
  int rows = 0;
};
constexpr int kSwatch = 22;

LegendLayout layout_legend(const std::vector<std::string>& labels, int width) {
  LegendLayout l;
  int x = 12, row = 0;
  for (const std::string& label : labels) {
    const int w = kSwatch + 6 + text_width(label) + 18;
    if (x > 12 && x + w > width - 12) {
      x = 12;
      ++row;
    }
    l.origin.push_back({x, row * kLegendRowHeight});
    x += w;
  }
  l.rows = labels.empty() ? 0 : row + 1;
  return l;
}

void draw_legend(Canvas& c, const std::vector<std::string>& labels, const LegendLayout& l, int top, double line_width) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const int x = l.origin[i][0], y = top + l.origin[i][1] + kLegendRowHeight / 2;
    c.stroke_line({double(x), double(y)}, {double(x + kSwatch), double(y)}, series_color(i), {line_width + 1, true},
                  c.bounds());
    draw_text(c, x + kSwatch + 6, y - kGlyphHeight / 2, labels[i], kText);
  }
}

// Plot area inside a panel rectangle: room for the title, tick labels and axis labels.
Rect plot_area(Rect panel, const Panel& p, const Ticks& y) {
  int label_width = 0;
  for (double v : y.values) label_width = std::max(label_width, text_width(tick_label(v, y.step)));
  const int left = 8 + (p.y_label.empty() ? 0 : kLineHeight + 4) + label_width + 4 + kTickLength;
  const int bottom = kTickLength + 4 + kLineHeight + (p.x_label.empty() ? 0 : kLineHeight + 4) + 6;
  const int top = p.title.empty() ? 10 : kLineHeight + 12;
  return {panel.x0 + left, panel.y0 + top, panel.x1 - 18, panel.y1 - bottom};
}

void draw_axes(Canvas& c, const Axes& a, const Panel& p, Rect panel) {
  for (double v : a.y.values) {
    const int y = static_cast<int>(std::lround(a.py(v)));
    c.fill_rect({a.area.x0, y, a.area.x1, y + 1}, kGrid);
    c.fill_rect({a.area.x0 - kTickLength, y, a.area.x0, y + 1}, kFrame);
    const std::string s = tick_label(v, a.y.step);
    draw_text(c, a.area.x0 - kTickLength - 4 - text_width(s), y - kGlyphHeight / 2, s, kText);
  }
  for (double v : a.x.values) {
    const int x = static_cast<int>(std::lround(a.px(v)));
    c.fill_rect({x, a.area.y0, x + 1, a.area.y1}, kGrid);
    c.fill_rect({x, a.area.y1, x + 1, a.area.y1 + kTickLength}, kFrame);
    const std::string s = tick_label(v, a.x.step);
    draw_text(c, x - text_width(s) / 2, a.area.y1 + kTickLength + 4, s, kText);
  }
  c.stroke_rect({a.area.x0 - 1, a.area.y0 - 1, a.area.x1 + 1, a.area.y1 + 1}, kFrame);
  const int mid_x = (a.area.x0 + a.area.x1) / 2, mid_y = (a.area.y0 + a.area.y1) / 2;
  draw_text(c, mid_x - text_width(p.title) / 2, panel.y0 + 6, p.title, kText);
  draw_text(c, mid_x - text_width(p.x_label) / 2, a.area.y1 + kTickLength + 4 + kLineHeight + 4, p.x_label, kText);
  draw_text(c, panel.x0 + 8, mid_y + text_width(p.y_label) / 2, p.y_label, kText, 1, TextDirection::kUp);
}

// Splits a series at NaN/Inf values into pixel polylines.
std::vector<std::vector<Point>> series_runs(const Series& s, const Axes& a) {
  std::vector<std::vector<Point>> runs(1);
  for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
    if (std::isfinite(s.y[i]) && std::isfinite(s.x[i])) {
      runs.back().push_back({a.px(s.x[i]), a.py(s.y[i])});
    } else if (!runs.back().empty()) {
      runs.emplace_back();
    }
  }
  if (runs.back().empty()) runs.pop_back();
  return runs;
}

// x and y ranges of a panel from its finite points.
Axes panel_axes(const Panel& p) {
  std::vector<double> ys;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  for (const Series& s : p.series) {
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      ys.push_back(s.y[i]);
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
    }
  }
  if (ys.empty()) x_lo = 0, x_hi = 1;
  return {{}, x_ticks(x_lo, x_hi), y_ticks(ys)};
}

void draw_panel(Canvas& c, const Panel& p, Rect panel, const std::vector<std::string>& labels, double line_width) {
  Axes a = panel_axes(p);
  a.area = plot_area(panel, p, a.y);
  if (a.area.width() < 8 || a.area.height() < 8) return;  // too small to draw anything useful
  draw_axes(c, a, p, panel);
  bool any = false;
  for (const Series& s : p.series) {
    const size_t colour = std::find(labels.begin(), labels.end(), s.label) - labels.begin();
    for (const auto& run : series_runs(s, a)) {
      // A point between two gaps would be a speck at the line width: draw it as a visible dot.
      const double width = run.size() == 1 ? line_width * 2 + 1 : line_width;
      c.stroke_polyline(run, series_color(colour), {width, true}, a.area);
      any = true;
    }
  }
  if (!any) {
    const int mid_x = (a.area.x0 + a.area.x1) / 2, mid_y = (a.area.y0 + a.area.y1) / 2;
    draw_text(c, mid_x - text_width("no data") / 2, mid_y - kGlyphHeight / 2, "no data", kFrame);
  }
}

}  // namespace

Ticks y_ticks(const std::vector<double>& values, int max_ticks) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (lo > hi) return make_ticks(0.0, 1.0, nice_step(1.0 / std::max(max_ticks - 1, 1)));
  // Why the padding: a line along the frame is hard to see; a constant line sits mid-panel.
  const double pad = hi > lo ? 0.05 * (hi - lo) : (lo != 0 ? 0.1 * std::abs(lo) : 1.0);
  lo -= pad;
  hi += pad;
  return make_ticks(lo, hi, nice_step((hi - lo) / std::max(max_ticks - 1, 1)));
}

Ticks x_ticks(double lo, double hi, int max_ticks) {
  if (!(hi > lo)) lo -= 1, hi += 1;
  // Steps are integers: never a fractional tick spacing.
  return make_ticks(lo, hi, std::max(1.0, nice_step((hi - lo) / std::max(max_ticks - 1, 1))));
}

std::string tick_label(double value, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(std::abs(step)) + 1e-9)));
  // A value that prints as zero is zero: no "-0.0" from rounding noise.
  if (std::abs(value) < 0.5 * std::pow(10.0, -decimals)) value = 0.0;
  if (std::abs(value) < 1e5 && decimals <= 4) return fmt::format("{:.{}f}", value, decimals);
  // Large values or tiny steps: as many significant digits as tell neighbouring ticks apart.
  const double magnitude = std::max(std::abs(value), std::abs(step));
  const int digits = static_cast<int>(std::floor(std::log10(magnitude)) - std::floor(std::log10(std::abs(step)))) + 1;
  return fmt::format("{:.{}g}", value, std::clamp(digits, 2, 12));
}

Rgb series_color(size_t index) {
  // Tableau 10: distinct hues that stay readable on white.
  static constexpr std::array<Rgb, 10> kPalette = {{{31, 119, 180},
                                                    {255, 127, 14},
                                                    {44, 160, 44},
                                                    {214, 39, 40},
                                                    {148, 103, 189},
                                                    {140, 86, 75},
                                                    {227, 119, 194},
                                                    {127, 127, 127},
                                                    {188, 189, 34},
                                                    {23, 190, 207}}};
  Rgb c = kPalette[index % kPalette.size()];
  for (size_t k = 0; k < index / kPalette.size() && k < 3; ++k) {
    c = {static_cast<uint8_t>(c.r * 6 / 10), static_cast<uint8_t>(c.g * 6 / 10), static_cast<uint8_t>(c.b * 6 / 10)};
  }
  return c;
}

Image render_figure(const Figure& f) {
  BALCAP_CHECK(!f.panels.empty(), "plot: figure '{}' has no panel\nHINT: choose metrics that exist in the run",
               f.title);
  const int n = static_cast<int>(f.panels.size());
  const int columns = std::clamp(f.columns, 1, n);
  const int rows = (n + columns - 1) / columns;
  const int width = columns * f.panel_width;
  const std::vector<std::string> labels = legend_labels(f);
  const LegendLayout legend = layout_legend(labels, width);
  const int legend_top = kTitleHeight + rows * f.panel_height;
  Canvas c(width, legend_top + legend.rows * kLegendRowHeight + kLegendPadding);
  draw_text(c, (width - text_width(f.title, 2)) / 2, (kTitleHeight - text_height(2)) / 2, f.title, kText, 2);
  for (int i = 0; i < n; ++i) {
    const int x0 = (i % columns) * f.panel_width, y0 = kTitleHeight + (i / columns) * f.panel_height;
    draw_panel(c, f.panels[static_cast<size_t>(i)], {x0, y0, x0 + f.panel_width, y0 + f.panel_height}, labels,
               f.line_width);
  }
  draw_legend(c, labels, legend, legend_top, f.line_width);
  return c.image();
}

}  // namespace balcap::train
