#pragma once
// Cairo plumbing shared by the layout (measuring text) and the renderer (drawing it). Private to src/plot/.
//
// Text goes through Cairo's toy font API with the face named "DejaVu Sans" (fonts-dejavu-core, installed by
// scripts/bootstrap.sh), resolved by fontconfig. Metric hinting is off on every context so a string has the same width
// on the raster (PNG) surface the layout measured it with and on the vector (SVG) one: one layout serves both.
#include <cairo.h>

#include <memory>
#include <string>
#include <string_view>

#include "plot/chart.h"

namespace balcap::plot {

struct CairoDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
using CairoContext = std::unique_ptr<cairo_t, CairoDeleter>;
using CairoSurface = std::unique_ptr<cairo_surface_t, CairoDeleter>;

// Throws balcap::Error naming `what` when the surface or context is in an error state.
void check_cairo(cairo_surface_t* surface, std::string_view what);
void check_cairo(cairo_t* cr, std::string_view what);

// A context on `surface` with the chart's font options.
CairoContext make_context(cairo_surface_t* surface);
void set_font(cairo_t* cr, const Font& font);
void set_color(cairo_t* cr, Rgb color);

// Measures strings in the chart's fonts (on a private 1x1 surface).
class TextMeasure {
 public:
  TextMeasure();
  double width(std::string_view text, const Font& font);
  double height(const Font& font);  // ascent + descent: the height of a text box
 private:
  CairoSurface surface_;
  CairoContext cr_;
};

// `text` with every byte that is not part of a valid UTF-8 sequence, and every control character, replaced by '?':
// Cairo refuses invalid UTF-8 (the context would stop drawing) and XML (the SVG) refuses control characters.
std::string printable_utf8(std::string_view text);

// Draws `item` inside its box (see TextItem).
void draw_text(cairo_t* cr, const TextItem& item);

}  // namespace balcap::plot
