// The Cairo chart renderer behind `balcap plot`: ticks land on 1/2/5 steps and are labelled with
// those values, each series' colour lies along where its data says the line is (and nowhere else
// but its legend swatch), text is drawn with a real font inside the boxes the layout gives it, a
// figure encodes to a PNG that balcap's decoder and PIL both read back at the documented size, and
// the SVG is well-formed XML with the chart's text and one path per line.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "plot/chart.h"
#include "plot/render.h"
#include "vision/image.h"
#include "vision/png_encode.h"
#include "balcap_test/test_paths.h"
#include "support/test_support.h"

namespace balcap::plot {
namespace {

constexpr Rgb kBlue{31, 119, 180}, kOrange{255, 127, 14};  // series_color(0), series_color(1)

Rgb pixel(const vision::Image& im, int x, int y) {
  const size_t i = (static_cast<size_t>(y) * im.width + x) * 3;
  return {im.rgb[i], im.rgb[i + 1], im.rgb[i + 2]};
}

// Largest channel difference: 0 is the same colour.
int color_distance(Rgb a, Rgb b) {
  return std::max({std::abs(a.r - b.r), std::abs(a.g - b.g), std::abs(a.b - b.b)});
}

bool is_dark(Rgb c) { return c.r < 110 && c.g < 110 && c.b < 110; }

int dark_pixels_in(const vision::Image& im, const Box& b) {
  int n = 0;
  for (int y = std::max(0, int(b.y0)); y < std::min(im.height, int(std::ceil(b.y1))); ++y) {
    for (int x = std::max(0, int(b.x0)); x < std::min(im.width, int(std::ceil(b.x1))); ++x) n += is_dark(pixel(im, x, y));
  }
  return n;
}

TEST(PlotTicks, YRangeIsPaddedAndTicksAreOneTwoFiveSteps) {
  // [0.31, 0.77] padded by 5% of 0.46 -> [0.287, 0.793]; 0.506 / 7 = 0.072 -> step 0.1.
  const Ticks t = y_ticks({0.31, NAN, 0.77, 0.5});
  EXPECT_NEAR(t.lo, 0.287, 1e-12);
  EXPECT_NEAR(t.hi, 0.793, 1e-12);
  EXPECT_DOUBLE_EQ(t.step, 0.1);
  ASSERT_EQ(t.values.size(), 5u);
  std::vector<std::string> labels;
  for (double v : t.values) labels.push_back(tick_label(v, t.step));
  EXPECT_EQ(labels, (std::vector<std::string>{"0.3", "0.4", "0.5", "0.6", "0.7"}));
}

TEST(PlotTicks, ConstantAndEmptySeriesStillGetARange) {
  const Ticks two = y_ticks({2.0, 2.0});
  EXPECT_DOUBLE_EQ(two.lo, 1.8);
  EXPECT_DOUBLE_EQ(two.hi, 2.2);
  const Ticks zero = y_ticks({0.0});
  EXPECT_EQ(zero.lo, -1.0);
  EXPECT_EQ(zero.hi, 1.0);
  const Ticks none = y_ticks({NAN, INFINITY});
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_EQ(none.hi, 1.0);
  EXPECT_FALSE(none.values.empty());
}

TEST(PlotTicks, StepAxisUsesWholeNumbersAndLabelsStayShort) {
  const Ticks x = x_ticks(1, 60);  // 59 / 7 = 8.4 -> 10
  EXPECT_EQ(x.step, 10);
  EXPECT_EQ(x.values, (std::vector<double>{10, 20, 30, 40, 50, 60}));
  EXPECT_EQ(x_ticks(3, 5).step, 1);  // never a fractional step
  EXPECT_EQ(x_ticks(7, 7).values, (std::vector<double>{6, 7, 8}));
  EXPECT_EQ(tick_label(250, 50), "250");
  EXPECT_EQ(tick_label(-0.0000001, 0.5), "0.0");
  EXPECT_EQ(tick_label(0.0025, 0.0005), "0.0025");
  EXPECT_EQ(tick_label(1.5e6, 5e5), "1.5e+06");
  EXPECT_EQ(tick_label(3e-7, 1e-7), "3e-07");
}

// Correctness rises 0.41..0.60 over steps 1..20; coverage 0.22..0.60 with no value at step 10.
Figure two_series_figure() {
  Figure f;
  f.title = "rewards";
  f.panel_width = 400;
  f.panel_height = 300;
  Series a{"correctness", {}, {}}, b{"coverage", {}, {}};
  for (int s = 1; s <= 20; ++s) {
    a.x.push_back(s), a.y.push_back(0.4 + 0.01 * s);
    b.x.push_back(s), b.y.push_back(s == 10 ? NAN : 0.2 + 0.02 * s);
  }
  f.panels.push_back({"", "step", "reward", {a, b}});
  return f;
}

TEST(PlotFigure, PngDecodesWithTheDocumentedSizeAndTheSamePixels) {
  const Figure f = two_series_figure();
  const vision::Image image = render_figure(f);
  const auto file = test::scratch_dir() / "figure.png";
  write_figure(f, file, ImageFormat::kPng);
  const vision::Image back = vision::decode_image_file(file);
  // One panel, one legend row: 30 (title) + 300 (panel) + 16 (legend row) + 8 (padding).
  EXPECT_EQ(back.width, 400);
  EXPECT_EQ(back.height, 354);
  EXPECT_EQ(back.rgb, image.rgb);
}

TEST(PlotFigure, PillowReadsThePngAndFindsBothSeriesColours) {
  const auto file = test::scratch_dir() / "figure.png";
  write_figure(two_series_figure(), file, ImageFormat::kPng);
  // Tableau blue and orange, the first two series colours, at full strength along the lines.
  const std::string script =
      "import sys\n"
      "from PIL import Image\n"
      "Image.open(sys.argv[1]).verify()\n"
      "im = Image.open(sys.argv[1]); im.load()\n"
      "px = list(im.getdata())\n"
      "print(im.format, im.mode, im.size[0], im.size[1], px.count((31, 119, 180)) > 100, "
      "px.count((255, 127, 14)) > 100)\n";
  const auto r = test::run_command(fmt::format("{} -c {} {}", test::shell_quote(test::kPython),
                                               test::shell_quote(script), test::shell_quote(file.string())));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "PNG RGB 400 354 True True\n");
}

// Distance from (x, y) to the segment [a, b].
double segment_distance(double x, double y, double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? std::clamp(((x - ax) * dx + (y - ay) * dy) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(x - (ax + t * dx), y - (ay + t * dy));
}

// Distance from pixel (x, y)'s centre to the series' drawn line (NaN points break it).
double distance_to_series(const Series& s, const PanelLayout& a, int x, int y) {
  double best = INFINITY;
  for (size_t i = 0; i + 1 < s.x.size(); ++i) {
    if (std::isnan(s.y[i]) || std::isnan(s.y[i + 1])) continue;
    best = std::min(best, segment_distance(x + 0.5, y + 0.5, a.px(s.x[i]), a.py(s.y[i]), a.px(s.x[i + 1]),
                                           a.py(s.y[i + 1])));
  }
  return best;
}

TEST(PlotFigure, EachSeriesColourLiesAlongItsDataAndNowhereElse) {
  const Figure f = two_series_figure();
  const FigureLayout l = layout_figure(f);
  const vision::Image im = render_figure(f);
  const PanelLayout& a = l.panels.at(0);
  ASSERT_EQ(l.legend.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    const Series& s = f.panels[0].series[k];
    const Rgb want = l.legend[k].color;
    EXPECT_EQ(want, k == 0 ? kBlue : kOrange);
    // Along the line: at each data point and each midpoint between two, the pixel is the series colour.
    for (size_t i = 0; i + 1 < s.x.size(); ++i) {
      for (double t : {0.0, 0.5}) {
        const double y0 = s.y[i], y1 = s.y[i + 1];
        if (std::isnan(y0) || (t > 0 && std::isnan(y1))) continue;
        const double x = a.px(s.x[i] + t), y = a.py(t > 0 ? (y0 + y1) / 2 : y0);
        EXPECT_LE(color_distance(pixel(im, int(x), int(y)), want), 40) << s.label << " step " << s.x[i] + t;
      }
    }
    // Nowhere else: a pixel of (nearly) this colour is on the line or on the legend swatch.
    const LegendEntry& e = l.legend[k];
    for (int y = 0; y < im.height; ++y) {
      for (int x = 0; x < im.width; ++x) {
        if (color_distance(pixel(im, x, y), want) > 60) continue;
        const bool on_swatch = x >= e.x0 - 3 && x <= e.x1 + 3 && std::abs(y + 0.5 - e.y) <= 3;
        EXPECT_TRUE(on_swatch || distance_to_series(s, a, x, y) <= f.line_width)
            << s.label << " colour at pixel " << x << "," << y;
      }
    }
  }
  // The gap: halfway between steps 9 and 11, where coverage has no value, no orange.
  const double gx = a.px(10), gy = a.py((f.panels[0].series[1].y[8] + f.panels[0].series[1].y[10]) / 2);
  EXPECT_GT(color_distance(pixel(im, int(gx), int(gy)), kOrange), 100);
}

TEST(PlotFigure, TickLabelsAreTheOneTwoFiveValuesBesideTheirTicks) {
  const FigureLayout l = layout_figure(two_series_figure());
  const PanelLayout& a = l.panels.at(0);
  std::vector<std::string> y_labels, x_labels;
  for (const TextItem& t : l.texts) {
    const double cx = (t.box.x0 + t.box.x1) / 2, cy = (t.box.y0 + t.box.y1) / 2;
    if (t.box.x1 <= a.area.x0 && cy > a.area.y0 && cy < a.area.y1 && !t.vertical) {
      y_labels.push_back(t.text);  // left of the area: a y tick label, centred on its tick's row
      EXPECT_NEAR(cy, std::floor(a.py(std::stod(t.text))) + 0.5, 1.0) << t.text;
    } else if (t.box.y0 >= a.area.y1 && t.box.y0 < a.area.y1 + 10) {
      x_labels.push_back(t.text);  // just under the area: an x tick label, centred under its tick
      EXPECT_NEAR(cx, std::floor(a.px(std::stod(t.text))) + 0.5, 1.0) << t.text;
    }
  }
  // y: 0.22..0.60 padded by 5% -> [0.201, 0.619], step 0.1; x: steps 1..20, step 5.
  EXPECT_EQ(y_labels, (std::vector<std::string>{"0.3", "0.4", "0.5", "0.6"}));
  EXPECT_EQ(x_labels, (std::vector<std::string>{"5", "10", "15", "20"}));
}

TEST(PlotFigure, TextIsDrawnInsideItsBoxesAndTheTitleNowhereElse) {
  const FigureLayout l = layout_figure(two_series_figure());
  const vision::Image im = render_figure(two_series_figure());
  ASSERT_EQ(l.texts.at(0).text, "rewards");
  const Box title = l.texts[0].box;
  // Bold 15 px "rewards" is about 65 px wide: many dark pixels in its box, none elsewhere in the title band.
  EXPECT_GT(title.width(), 40);
  EXPECT_GT(dark_pixels_in(im, title), 100);
  const Box band{0, 0, double(im.width), double(kTitleHeight)};
  EXPECT_EQ(dark_pixels_in(im, band), dark_pixels_in(im, title));
  for (const TextItem& t : l.texts) {
    EXPECT_GT(dark_pixels_in(im, t.box), 3) << "'" << t.text << "' not drawn in its box";
  }
}

// Counts, per series colour, the SVG paths stroked in it (Cairo writes the colour as rgb(r%, g%, b%),
// in a style attribute or, in newer versions, a stroke attribute).
constexpr const char* kSvgCheck = R"py(
import re, sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
def stroke(p):
    m = re.search(r"stroke:\s*rgb\(([^)]*)\)", p.get("style", "")) or re.search(r"rgb\(([^)]*)\)", p.get("stroke", ""))
    return tuple(round(float(c.strip().rstrip("%")) * 2.55) for c in m.group(1).split(",")) if m else None
strokes = [stroke(p) for p in root.iter("{http://www.w3.org/2000/svg}path")]
desc = root.find("s:desc", ns).text.split("\n")
print(root.get("width"), root.get("height"), root.find("s:title", ns).text,
      all(t in desc for t in ["correctness", "coverage", "step", "reward", "0.5", "15"]),
      strokes.count((31, 119, 180)), strokes.count((255, 127, 14)))
)py";

TEST(PlotFigure, SvgIsWellFormedXmlWithTheTextAndAPathPerLine) {
  const auto file = test::scratch_dir() / "figure.svg";
  write_figure(two_series_figure(), file, ImageFormat::kSvg);
  const auto r = test::run_command(fmt::format("{} -c {} {}", test::shell_quote(test::kPython),
                                               test::shell_quote(kSvgCheck), test::shell_quote(file.string())));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Blue: the correctness line and its swatch. Orange: coverage's two runs (split at step 10) and its swatch.
  EXPECT_EQ(r.out, "400px 354px rewards True 2 3\n");
}

TEST(PlotFigure, InvalidUtf8AndControlCharactersAreDrawnAsQuestionMarks) {
  Figure f = two_series_figure();
  f.title = "caf\xe9 \xc3\xa9t\xc3\xa9\t<ok>";  // a Latin-1 byte, valid UTF-8, a tab, XML specials
  f.panels[0].series[0].label = "run\xff";
  const FigureLayout l = layout_figure(f);
  EXPECT_EQ(l.texts.at(0).text, "caf? \xc3\xa9t\xc3\xa9?<ok>");
  EXPECT_EQ(l.legend.at(0).color, kBlue);  // the series still finds its legend entry
  const vision::Image im = render_figure(f);
  EXPECT_GT(dark_pixels_in(im, l.texts[0].box), 100);
  const std::string svg = render_figure_svg(f);
  EXPECT_NE(svg.find("<title>caf? \xc3\xa9t\xc3\xa9?&lt;ok&gt;</title>"), std::string::npos) << svg.substr(0, 400);
  EXPECT_NE(svg.find("run?\n"), std::string::npos);
}

TEST(PlotFigure, PanelsWrapIntoRowsAndTheLegendWrapsToo) {
  Figure f = two_series_figure();
  f.panels = std::vector<Panel>(4, f.panels[0]);
  f.columns = 3;
  for (int i = 0; i < 30; ++i) f.panels[3].series.push_back({fmt::format("run number {}", i), {1, 2}, {1, 2}});
  const vision::Image image = render_figure(f);
  EXPECT_EQ(image.width, 1200);
  const int legend_rows = (image.height - 30 - 2 * 300 - kLegendPadding) / kLegendRowHeight;
  EXPECT_EQ(30 + 2 * 300 + legend_rows * kLegendRowHeight + kLegendPadding, image.height);
  EXPECT_EQ(legend_rows, layout_figure(f).legend_rows);
  EXPECT_GE(legend_rows, 3);  // 32 entries of ~110 px do not fit in two 1200 px rows
  EXPECT_THROW(render_figure(Figure{}), Error);
  f.panel_width = 20000;  // wider than Cairo and kMaxSide allow
  EXPECT_THROW(render_figure(f), Error);
}

}  // namespace
}  // namespace balcap::plot
