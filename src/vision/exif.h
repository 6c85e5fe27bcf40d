#pragma once
// Private to src/vision: EXIF orientation, read and applied as PIL's `ImageOps.exif_transpose` does (transformers'
// `load_image` calls it for every image it opens from a path).
#include <span>
#include <string_view>

#include "vision/image.h"

namespace balcap::vision {

// Orientation tag (0x0112) of EXIF data in TIFF layout (an optional "Exif\0\0" prefix is skipped).
// 0 when the data, IFD0 or the tag is absent or unreadable (callers then look at XMP).
int exif_orientation(std::span<const uint8_t> exif);

// `tiff:Orientation="N"` or `<tiff:Orientation>N</...>` in an XMP packet; 0 when absent.
int xmp_orientation(std::string_view xmp);

// The transposition for orientation 2..8 (1 and unknown values return the image unchanged):
// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
// counter-clockwise. 5..8 swap width and height.
Image apply_exif_orientation(const Image& image, int orientation);

}  // namespace balcap::vision
