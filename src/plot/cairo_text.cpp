// Cairo contexts, fonts and text; see src/plot/cairo_text.h.
#include "plot/cairo_text.h"

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

#include "core/error.h"

namespace balcap::plot {
namespace {

constexpr const char* kFontFamily = "DejaVu Sans";

// Length of the valid UTF-8 sequence at text[i] (0: not one). Overlong forms and surrogates are invalid.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = byte(i);
  const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  uint32_t cp = n == 1 ? b : b & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string printable_utf8(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_sequence_length(text, i);
    const bool control = n == 1 && (static_cast<unsigned char>(text[i]) < 0x20 || text[i] == 0x7F);
    out += n == 0 || control ? std::string_view("?") : text.substr(i, n);
    i += n == 0 ? 1 : n;
  }
  return out;
}

void check_cairo(cairo_surface_t* surface, std::string_view what) {
  const cairo_status_t status = cairo_surface_status(surface);
  BALCAP_CHECK(status == CAIRO_STATUS_SUCCESS, "plot: {}: {}\nHINT: check the output directory and free memory", what,
               cairo_status_to_string(status));
}

void check_cairo(cairo_t* cr, std::string_view what) {
  const cairo_status_t status = cairo_status(cr);
  BALCAP_CHECK(status == CAIRO_STATUS_SUCCESS, "plot: {}: {}\nHINT: check the output directory and free memory", what,
               cairo_status_to_string(status));
}

CairoContext make_context(cairo_surface_t* surface) {
  CairoContext cr(cairo_create(surface));
  check_cairo(cr.get(), "cannot draw");
  cairo_font_options_t* options = cairo_font_options_create();
  // Unhinted metrics: widths must not depend on the surface (see the header). Grey antialiasing: no colour fringes.
  cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
  cairo_set_font_options(cr.get(), options);
  cairo_font_options_destroy(options);
  return cr;
}

void set_font(cairo_t* cr, const Font& font) {
  cairo_select_font_face(cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                         font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, font.size);
}

void set_color(cairo_t* cr, Rgb c) { cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0); }

TextMeasure::TextMeasure()
    : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1)), cr_(make_context(surface_.get())) {}

double TextMeasure::width(std::string_view text, const Font& font) {
  set_font(cr_.get(), font);
  cairo_text_extents_t e;
  cairo_text_extents(cr_.get(), std::string(text).c_str(), &e);
  return e.x_advance;  // the pen's travel, so boxes of neighbouring strings do not overlap
}

double TextMeasure::height(const Font& font) {
  set_font(cr_.get(), font);
  cairo_font_extents_t e;
  cairo_font_extents(cr_.get(), &e);
  return e.ascent + e.descent;
}

void draw_text(cairo_t* cr, const TextItem& item) {
  if (item.text.empty()) return;
  set_font(cr, item.font);
  set_color(cr, item.color);
  cairo_font_extents_t e;
  cairo_font_extents(cr, &e);
  cairo_save(cr);
  if (item.vertical) {
    // Turned a quarter counter-clockwise: the baseline runs up, `ascent` right of the box's left edge.
    cairo_translate(cr, item.box.x0 + e.ascent, item.box.y1);
    cairo_rotate(cr, -std::numbers::pi / 2);
    cairo_move_to(cr, 0, 0);
  } else {
    cairo_move_to(cr, item.box.x0, item.box.y0 + e.ascent);
  }
  cairo_show_text(cr, item.text.c_str());
  cairo_restore(cr);
}

}  // namespace balcap::plot
