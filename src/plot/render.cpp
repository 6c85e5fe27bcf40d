// Drawing a laid-out figure with Cairo, to pixels or to SVG; see src/plot/render.h.
#include "plot/render.h"

#include <cairo-svg.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numbers>

#include "core/error.h"
#include "io/atomic_file.h"
#include "plot/cairo_text.h"
#include "vision/png_encode.h"

namespace balcap::plot {
namespace {

constexpr double kTickLength = 4;
using Point = std::array<double, 2>;

// A 1-pixel line from a to b along pixel centres (coordinates already at .5), so it covers whole pixels.
void hairline(cairo_t* cr, Point a, Point b, Rgb color) {
  set_color(cr, color);
  cairo_set_line_width(cr, 1.0);
  cairo_move_to(cr, a[0], a[1]);
  cairo_line_to(cr, b[0], b[1]);
  cairo_stroke(cr);
}

// Grid lines, tick marks and the frame (the ring of pixels just outside the plot area).
void draw_axes(cairo_t* cr, const PanelLayout& a) {
  const Box& r = a.area;
  for (double v : a.y.values) {
    const double y = std::floor(a.py(v)) + 0.5;
    hairline(cr, {r.x0, y}, {r.x1, y}, kGrid);
    hairline(cr, {r.x0 - kTickLength, y}, {r.x0, y}, kFrame);
  }
  for (double v : a.x.values) {
    const double x = std::floor(a.px(v)) + 0.5;
    hairline(cr, {x, r.y0}, {x, r.y1}, kGrid);
    hairline(cr, {x, r.y1}, {x, r.y1 + kTickLength}, kFrame);
  }
  set_color(cr, kFrame);
  cairo_rectangle(cr, r.x0 - 0.5, r.y0 - 0.5, r.width() + 1, r.height() + 1);
  cairo_stroke(cr);
}

// Splits a series at NaN/Inf values into polylines in pixel coordinates.
std::vector<std::vector<Point>> series_runs(const Series& s, const PanelLayout& a) {
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

void draw_run(cairo_t* cr, const std::vector<Point>& run, double line_width) {
  if (run.size() == 1) {
    // A point between two gaps would be a speck at the line width: draw it as a visible dot.
    cairo_arc(cr, run[0][0], run[0][1], line_width + 0.5, 0, 2 * std::numbers::pi);
    cairo_fill(cr);
    return;
  }
  cairo_move_to(cr, run[0][0], run[0][1]);
  for (size_t i = 1; i < run.size(); ++i) cairo_line_to(cr, run[i][0], run[i][1]);
  cairo_stroke(cr);
}

Rgb color_of(const FigureLayout& l, const std::string& label) {
  const auto it = std::find_if(l.legend.begin(), l.legend.end(), [&](const LegendEntry& e) { return e.label == label; });
  return it == l.legend.end() ? kText : it->color;
}

// The panel's lines, clipped to its plot area.
void draw_series(cairo_t* cr, const Panel& p, const PanelLayout& a, const FigureLayout& l, double line_width) {
  cairo_save(cr);
  cairo_rectangle(cr, a.area.x0, a.area.y0, a.area.width(), a.area.height());
  cairo_clip(cr);
  cairo_set_line_width(cr, line_width);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (const Series& s : p.series) {
    set_color(cr, color_of(l, s.label));
    for (const auto& run : series_runs(s, a)) draw_run(cr, run, line_width);
  }
  cairo_restore(cr);
}

void draw_figure(cairo_t* cr, const Figure& f, const FigureLayout& l) {
  set_color(cr, kWhite);
  cairo_paint(cr);
  for (size_t i = 0; i < l.panels.size(); ++i) {
    if (!l.panels[i].visible) continue;
    draw_axes(cr, l.panels[i]);
    draw_series(cr, f.panels[i], l.panels[i], l, f.line_width);
  }
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_width(cr, f.line_width + 1);  // a swatch a little bolder than the line, to show its colour
  for (const LegendEntry& e : l.legend) {
    set_color(cr, e.color);
    cairo_move_to(cr, e.x0, e.y);
    cairo_line_to(cr, e.x1, e.y);
    cairo_stroke(cr);
  }
  for (const TextItem& t : l.texts) draw_text(cr, t);
  check_cairo(cr, "drawing the chart failed");
}

// Cairo's RGB24 pixels (native-endian 0x00RRGGBB words, rows `stride` bytes apart) as an Image.
vision::Image to_image(cairo_surface_t* surface) {
  cairo_surface_flush(surface);
  vision::Image out;
  out.width = cairo_image_surface_get_width(surface);
  out.height = cairo_image_surface_get_height(surface);
  out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      uint32_t p;
      std::memcpy(&p, data + static_cast<size_t>(y) * stride + 4 * static_cast<size_t>(x), 4);
      uint8_t* dst = &out.rgb[(static_cast<size_t>(y) * out.width + x) * 3];
      dst[0] = static_cast<uint8_t>(p >> 16), dst[1] = static_cast<uint8_t>(p >> 8), dst[2] = static_cast<uint8_t>(p);
    }
  }
  return out;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Puts <title> and <desc> right after the opening <svg ...> tag (where SVG expects them).
std::string with_text_metadata(const std::string& svg, const FigureLayout& l) {
  const size_t open = svg.find("<svg");
  const size_t end = open == std::string::npos ? open : svg.find('>', open);
  BALCAP_CHECK(end != std::string::npos, "plot: Cairo wrote no <svg> element\nHINT: check the cairo installation");
  std::string meta = "\n<title>" + xml_escape(l.texts.empty() ? "" : l.texts[0].text) + "</title>\n<desc>";
  for (const TextItem& t : l.texts) meta += xml_escape(t.text) + "\n";
  meta += "</desc>";
  return svg.substr(0, end + 1) + meta + svg.substr(end + 1);
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

const char* file_extension(ImageFormat format) { return format == ImageFormat::kSvg ? ".svg" : ".png"; }

vision::Image render_figure(const Figure& f) {
  const FigureLayout l = layout_figure(f);
  CairoSurface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, l.width, l.height));
  check_cairo(surface.get(), fmt::format("cannot create a {}x{} image", l.width, l.height));
  draw_figure(make_context(surface.get()).get(), f, l);
  return to_image(surface.get());
}

std::string render_figure_svg(const Figure& f) {
  const FigureLayout l = layout_figure(f);
  std::string svg;
  CairoSurface surface(cairo_svg_surface_create_for_stream(append_to_string, &svg, l.width, l.height));
  check_cairo(surface.get(), "cannot create an SVG surface");
  cairo_svg_surface_restrict_to_version(surface.get(), CAIRO_SVG_VERSION_1_1);
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
  cairo_svg_surface_set_document_unit(surface.get(), CAIRO_SVG_UNIT_PX);  // the PNG's size in a browser (not pt)
#endif
  draw_figure(make_context(surface.get()).get(), f, l);
  cairo_surface_finish(surface.get());  // writes the document
  check_cairo(surface.get(), "writing the SVG failed");
  return with_text_metadata(svg, l);
}

void write_figure(const Figure& f, const std::filesystem::path& file, ImageFormat format) {
  if (format == ImageFormat::kSvg) {
    io::write_file_atomically(file, render_figure_svg(f));
  } else {
    vision::write_png_file(file, render_figure(f));
  }
}

}  // namespace balcap::plot
