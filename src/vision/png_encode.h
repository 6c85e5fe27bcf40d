#pragma once
// PNG encoding of 8-bit RGB images with libpng (the vision area's other files only decode).
// Used by `balcap data synth` (scene images) and anything else that writes pictures.
// The output is deterministic: fixed zlib level and filter, no time/text chunks, so the same
// pixels give the same bytes with the same libpng/zlib build.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "vision/image.h"

namespace balcap::vision {

// image.rgb: [height, width, 3] HWC. Throws balcap::Error on an empty or inconsistent image.
std::vector<uint8_t> encode_png(const Image& image);

// encode_png, then an atomic write (temporary file + rename) to `path`; errors name the path.
void write_png_file(const std::filesystem::path& path, const Image& image);

}  // namespace balcap::vision
