// Chart layout: panels, plot areas, ticks, text placement and the legend; see src/plot/chart.h.
#include "plot/chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "plot/cairo_text.h"

namespace balcap::plot {
namespace {

constexpr double kTickLength = 4;
constexpr double kSwatch = 22;  // legend line length

std::vector<std::string> legend_labels(const Figure& f) {
  std::vector<std::string> labels;
  for (const Panel& p : f.panels) {
    for (const Series& s : p.series) {
      if (std::find(labels.begin(), labels.end(), s.label) == labels.end()) labels.push_back(s.label);
    }
  }
  return labels;
}

// A one-line text box: horizontally anchored at x by `align` (0 left, 0.5 centre, 1 right), top at y.
TextItem text_at(TextMeasure& m, std::string text, double x, double y, double align, Font font = kTextFont,
                 Rgb color = kText) {
  text = printable_utf8(text);
  const double w = m.width(text, font), h = m.height(font);
  return {std::move(text), {x - align * w, y, x - align * w + w, y + h}, font, color, false};
}

// Legend entries flow left to right and wrap at the figure's width.
void layout_legend(FigureLayout& l, const std::vector<std::string>& labels, TextMeasure& m) {
  double x = 12;
  int row = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double w = kSwatch + 6 + m.width(printable_utf8(labels[i]), kTextFont) + 18;
    if (x > 12 && x + w > l.width - 12) {
      x = 12;
      ++row;
    }
    l.legend.push_back({labels[i], series_color(i), x, x + kSwatch, row * kLegendRowHeight + kLegendRowHeight / 2.0});
    x += w;
  }
  l.legend_rows = labels.empty() ? 0 : row + 1;
}

// x and y ticks of a panel from its finite points; `any` says whether there was one.
void panel_ticks(const Panel& p, PanelLayout& a, bool& any) {
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
  any = !ys.empty();
  if (!any) x_lo = 0, x_hi = 1;
  a.x = x_ticks(x_lo, x_hi);
  a.y = y_ticks(ys);
}

// The plot area inside a panel rectangle: room for the title, tick labels and axis labels.
Box plot_area(Box panel, const Panel& p, const Ticks& y, TextMeasure& m) {
  double label_width = 0;
  for (double v : y.values) label_width = std::max(label_width, m.width(tick_label(v, y.step), kTextFont));
  const double line = std::ceil(m.height(kTextFont));
  const double left = 8 + (p.y_label.empty() ? 0 : line + 4) + std::ceil(label_width) + 4 + kTickLength;
  const double bottom = kTickLength + 4 + line + (p.x_label.empty() ? 0 : line + 4) + 6;
  const double top = p.title.empty() ? 10 : line + 12;
  return {panel.x0 + left, panel.y0 + top, panel.x1 - 18, panel.y1 - bottom};
}

// Tick labels: y labels right-aligned left of their tick, x labels centred under theirs.
void tick_texts(const PanelLayout& a, TextMeasure& m, std::vector<TextItem>& out) {
  const double h = m.height(kTextFont);
  for (double v : a.y.values) {
    const double y = std::floor(a.py(v)) + 0.5;
    out.push_back(text_at(m, tick_label(v, a.y.step), a.area.x0 - kTickLength - 4, y - h / 2, 1.0));
  }
  for (double v : a.x.values) {
    const double x = std::floor(a.px(v)) + 0.5;
    out.push_back(text_at(m, tick_label(v, a.x.step), x, a.area.y1 + kTickLength + 4, 0.5));
  }
}

// The panel title above the area, the x label under the tick labels, the y label turned, left of them.
void axis_texts(const PanelLayout& a, const Panel& p, Box panel, TextMeasure& m, std::vector<TextItem>& out) {
  const double mid_x = (a.area.x0 + a.area.x1) / 2, mid_y = (a.area.y0 + a.area.y1) / 2;
  const double line = std::ceil(m.height(kTextFont));
  if (!p.title.empty()) out.push_back(text_at(m, p.title, mid_x, panel.y0 + 6, 0.5));
  if (!p.x_label.empty()) out.push_back(text_at(m, p.x_label, mid_x, a.area.y1 + kTickLength + 4 + line + 4, 0.5));
  if (!p.y_label.empty()) {
    const std::string label = printable_utf8(p.y_label);
    const double w = m.width(label, kTextFont), h = m.height(kTextFont);
    out.push_back({label, {panel.x0 + 8, mid_y - w / 2, panel.x0 + 8 + h, mid_y + w / 2}, kTextFont, kText, true});
  }
}

PanelLayout layout_panel(const Panel& p, Box panel, TextMeasure& m, std::vector<TextItem>& texts) {
  PanelLayout a;
  bool any = false;
  panel_ticks(p, a, any);
  a.area = plot_area(panel, p, a.y, m);
  a.visible = a.area.width() >= 8 && a.area.height() >= 8;
  if (!a.visible) return a;
  tick_texts(a, m, texts);
  axis_texts(a, p, panel, m, texts);
  if (!any) {
    const double mid_x = (a.area.x0 + a.area.x1) / 2, mid_y = (a.area.y0 + a.area.y1) / 2;
    texts.push_back(text_at(m, "no data", mid_x, mid_y - m.height(kTextFont) / 2, 0.5, kTextFont, kFrame));
  }
  return a;
}

}  // namespace

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

FigureLayout layout_figure(const Figure& f) {
  BALCAP_CHECK(!f.panels.empty(), "plot: figure '{}' has no panel\nHINT: choose metrics that exist in the run",
               f.title);
  const int n = static_cast<int>(f.panels.size());
  const int columns = std::clamp(f.columns, 1, n);
  const int rows = (n + columns - 1) / columns;
  TextMeasure m;
  FigureLayout l;
  l.width = columns * f.panel_width;
  l.texts.push_back(text_at(m, f.title, l.width / 2.0, (kTitleHeight - m.height(kTitleFont)) / 2, 0.5, kTitleFont));
  layout_legend(l, legend_labels(f), m);
  l.legend_top = kTitleHeight + static_cast<double>(rows) * f.panel_height;
  l.height = static_cast<int>(l.legend_top) + l.legend_rows * kLegendRowHeight + kLegendPadding;
  BALCAP_CHECK(l.width > 0 && f.panel_height > 0 && l.width <= kMaxSide && l.height <= kMaxSide,
               "plot: figure size {}x{} is outside 1..{}\nHINT: use fewer panels or a smaller panel size", l.width,
               l.height, kMaxSide);
  for (LegendEntry& e : l.legend) {
    e.y += l.legend_top;
    l.texts.push_back(text_at(m, e.label, e.x1 + 6, e.y - m.height(kTextFont) / 2, 0.0));
  }
  for (int i = 0; i < n; ++i) {
    const double x0 = (i % columns) * f.panel_width, y0 = kTitleHeight + (i / columns) * f.panel_height;
    l.panels.push_back(layout_panel(f.panels[static_cast<size_t>(i)], {x0, y0, x0 + f.panel_width, y0 + f.panel_height},
                                    m, l.texts));
  }
  return l;
}

}  // namespace balcap::plot
