#pragma once
// A built-in 5x7 bitmap font (printable ASCII 32..126) for chart text; no font files needed. Each glyph sits in a 6x9
// cell (1 column and 2 rows of spacing), scaled by an integer factor. Characters outside 32..126 (including UTF-8
// bytes) draw as '?'.
#include <array>
#include <cstdint>
#include <string_view>

#include "train/plot_canvas.h"

namespace balcap::train {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = 6;  // horizontal cell size at scale 1
inline constexpr int kLineHeight = 9;    // vertical cell size at scale 1

// Rows top to bottom; bit 4 is the leftmost column.
using Glyph = std::array<uint8_t, kGlyphHeight>;
const Glyph& glyph(char c);

// Width and height in pixels of `text` drawn on one line at `scale` (no trailing spacing column).
int text_width(std::string_view text, int scale = 1);
inline int text_height(int scale = 1) { return kGlyphHeight * scale; }

enum class TextDirection { kRight, kUp };  // kUp: rotated 90 degrees counter-clockwise (y-axis labels)

// Draws `text` with its glyphs' top-left corner at (x, y) (kUp: bottom-left, text runs upwards).
void draw_text(Canvas& canvas, int x, int y, std::string_view text, Rgb color, int scale = 1,
               TextDirection direction = TextDirection::kRight);

}  // namespace balcap::train
