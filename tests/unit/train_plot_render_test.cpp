// The chart renderer behind `balcap plot`: strokes cover the pixels geometry says they do, the
// built-in font puts a glyph's pixels where its hand-drawn pattern says, ticks land on 1/2/5
// steps, and a figure encodes to a PNG that balcap's decoder and PIL both read back.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "train/plot_chart.h"
#include "train/plot_font.h"
#include "vision/image.h"
#include "vision/png_encode.h"
#include "balcap_test/test_paths.h"
#include "support/test_support.h"

namespace balcap::train {
namespace {

constexpr Rgb kInk{0, 0, 0};

bool is_white(Rgb c) { return c == kWhite; }

TEST(PlotCanvas, HorizontalStrokeOfWidthOneCoversExactlyTheRowBetweenItsEnds) {
  Canvas c(64, 40);
  c.stroke_line({10, 20}, {50, 20}, kInk, {1.0, true}, c.bounds());
  for (int y = 0; y < c.height(); ++y) {
    for (int x = 0; x < c.width(); ++x) {
      const bool on = y == 20 && x >= 10 && x <= 50;
      EXPECT_EQ(c.pixel(x, y), on ? kInk : kWhite) << "pixel " << x << "," << y;
    }
  }
}

TEST(PlotCanvas, DiagonalAntialiasedStrokeIsSolidOnTheLineAndFadesBesideIt) {
  Canvas c(40, 40);
  c.stroke_line({5, 5}, {30, 30}, kInk, {1.0, true}, c.bounds());
  // Pixel centres on the line are fully covered. The next pixel to the side is 1/sqrt(2) from the
  // line: coverage 1 - 0.7071 = 0.2929, so white fades to 255 * 0.7071 = 180.3 -> 180. Two pixels
  // aside (distance 1.41) the stroke does not reach.
  for (int i = 6; i <= 29; ++i) {
    EXPECT_EQ(c.pixel(i, i), kInk) << i;
    EXPECT_EQ(c.pixel(i + 1, i), (Rgb{180, 180, 180})) << i;
    EXPECT_EQ(c.pixel(i, i + 1), (Rgb{180, 180, 180})) << i;
    EXPECT_TRUE(is_white(c.pixel(i + 2, i))) << i;
  }
  EXPECT_TRUE(is_white(c.pixel(3, 3)));
  EXPECT_TRUE(is_white(c.pixel(32, 32)));
}

TEST(PlotCanvas, PlainStrokeHasNoPartialPixelsAndKeepsToItsClipRectangle) {
  Canvas c(40, 40);
  const Rect clip{0, 0, 20, 40};
  c.stroke_line({0, 10}, {39, 10}, kInk, {3.0, false}, clip);
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 40; ++x) {
      // Width 3 around row 10: rows 9..11 (distance <= 1.5), only left of the clip edge x = 20.
      const bool on = y >= 9 && y <= 11 && x < 20;
      EXPECT_EQ(c.pixel(x, y), on ? kInk : kWhite) << "pixel " << x << "," << y;
    }
  }
}

TEST(PlotCanvas, SinglePointDrawsADotAndSizesOutsideTheLimitAreRefused) {
  Canvas c(20, 20);
  c.stroke_polyline({{10, 10}}, kInk, {3.0, false}, c.bounds());
  EXPECT_EQ(c.pixel(10, 10), kInk);
  EXPECT_EQ(c.pixel(11, 10), kInk);
  EXPECT_EQ(c.pixel(10, 9), kInk);
  EXPECT_EQ(c.pixel(11, 11), kInk);  // diagonal neighbour: distance 1.41 <= half-width 1.5
  EXPECT_TRUE(is_white(c.pixel(12, 10)));
  EXPECT_TRUE(is_white(c.pixel(12, 11)));
  EXPECT_THROW(Canvas(0, 10), Error);
  EXPECT_THROW(Canvas(10, 20000), Error);
}

// The digit 4 drawn by hand (5x7): '#' = ink.
const std::vector<std::string> kFour = {
    "...#.",  //
    "..##.",  //
    ".#.#.",  //
    "#..#.",  //
    "#####",  //
    "...#.",  //
    "...#.",  //
};

TEST(PlotFont, DigitFourLandsWithItsTopLeftCornerAtTheGivenPoint) {
  Canvas c(12, 12);
  draw_text(c, 3, 2, "4", kInk);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 12; ++x) {
      const int gx = x - 3, gy = y - 2;
      const bool on = gx >= 0 && gx < 5 && gy >= 0 && gy < 7 && kFour[gy][gx] == '#';
      EXPECT_EQ(c.pixel(x, y), on ? kInk : kWhite) << "pixel " << x << "," << y;
    }
  }
}

TEST(PlotFont, ScaleTwoDoublesEveryGlyphPixelAndTextWidthCountsTheCells) {
  Canvas c(30, 20);
  draw_text(c, 1, 1, "4", kInk, 2);
  for (int gy = 0; gy < 7; ++gy) {
    for (int gx = 0; gx < 5; ++gx) {
      const Rgb want = kFour[gy][gx] == '#' ? kInk : kWhite;
      for (int k = 0; k < 4; ++k) EXPECT_EQ(c.pixel(1 + 2 * gx + k % 2, 1 + 2 * gy + k / 2), want);
    }
  }
  EXPECT_EQ(text_width("4"), 5);
  EXPECT_EQ(text_width("12.5"), 4 * 6 - 1);
  EXPECT_EQ(text_width("12.5", 2), 2 * (4 * 6 - 1));
  EXPECT_EQ(text_width(""), 0);
}

TEST(PlotFont, EveryPrintableCharacterHasItsOwnGlyphAndOthersDrawAsAQuestionMark) {
  std::set<Glyph> seen;
  for (int ch = 33; ch <= 126; ++ch) {
    const Glyph& g = glyph(static_cast<char>(ch));
    EXPECT_TRUE(seen.insert(g).second) << "'" << static_cast<char>(ch) << "' repeats an earlier glyph";
    EXPECT_NE(g, glyph(' ')) << static_cast<char>(ch);
  }
  EXPECT_EQ(glyph('\xc3'), glyph('?'));
  EXPECT_EQ(glyph('\t'), glyph('?'));
}

TEST(PlotFont, UpwardTextIsTheGlyphTurnedAQuarterCounterClockwise) {
  Canvas c(12, 12);
  draw_text(c, 2, 9, "4", kInk, 1, TextDirection::kUp);
  // Glyph column gx runs up from y = 9; glyph row gy runs right from x = 2.
  for (int gy = 0; gy < 7; ++gy) {
    for (int gx = 0; gx < 5; ++gx) {
      EXPECT_EQ(c.pixel(2 + gy, 9 - gx), kFour[gy][gx] == '#' ? kInk : kWhite) << gx << "," << gy;
    }
  }
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
  const Image image = render_figure(two_series_figure());
  const auto file = test::scratch_dir() / "figure.png";
  write_png_file(file, image);
  const Image back = decode_image_file(file);
  // One panel, one legend row: 30 (title) + 300 (panel) + 16 (legend row) + 8 (padding).
  EXPECT_EQ(back.width, 400);
  EXPECT_EQ(back.height, 354);
  EXPECT_EQ(back.rgb, image.rgb);
}

TEST(PlotFigure, PillowReadsThePngAndFindsBothSeriesColours) {
  const auto file = test::scratch_dir() / "figure.png";
  write_png_file(file, render_figure(two_series_figure()));
  // Tableau blue and orange, the first two series colours.
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

TEST(PlotFigure, PanelsWrapIntoRowsAndTheLegendWrapsToo) {
  Figure f = two_series_figure();
  f.panels = std::vector<Panel>(4, f.panels[0]);
  f.columns = 3;
  for (int i = 0; i < 30; ++i) f.panels[3].series.push_back({fmt::format("run number {}", i), {1, 2}, {1, 2}});
  const Image image = render_figure(f);
  EXPECT_EQ(image.width, 1200);
  const int legend_rows = (image.height - 30 - 2 * 300 - kLegendPadding) / kLegendRowHeight;
  EXPECT_EQ(30 + 2 * 300 + legend_rows * kLegendRowHeight + kLegendPadding, image.height);
  EXPECT_GE(legend_rows, 3);  // 32 entries of ~110 px do not fit in two 1200 px rows
  EXPECT_THROW(render_figure(Figure{}), Error);
}

}  // namespace
}  // namespace balcap::train
