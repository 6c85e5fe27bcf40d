#pragma once
// Private to src/plot: Draws a Figure (plot/chart.h) with Cairo: into an RGB Image (written as PNG with vision/png_encode.h) or into an SVG
// document (Cairo's SVG surface). Both draw the same layout_figure() result, so the two files show the same chart.
#include <filesystem>
#include <string>

#include "plot/chart.h"
#include "vision/image.h"

namespace balcap::plot {

enum class ImageFormat { kPng, kSvg };

// ".png" or ".svg".
const char* file_extension(ImageFormat format);

// The figure as pixels, layout_figure(figure).width x height. Throws balcap::Error as layout_figure does.
vision::Image render_figure(const Figure& figure);

// The figure as an SVG 1.1 document, sized in pixels like the PNG. Cairo draws text as glyph outlines, so the strings
// are also written into the document's <title> (the figure title) and <desc> (every string drawn, one per line):
// viewers show the title and the file stays searchable.
std::string render_figure_svg(const Figure& figure);

// Renders and writes `file` atomically (temporary file + rename); errors name the file.
void write_figure(const Figure& figure, const std::filesystem::path& file, ImageFormat format);

}  // namespace balcap::plot
