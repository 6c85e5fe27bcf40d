#pragma once
// Format decoders behind decode_image_bytes (private to the vision area). Each returns the
// stored (not yet EXIF-rotated) RGB image plus the orientation metadata PIL would see, and
// throws balcap::Error naming `name` on any malformed input.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vision/image.h"

namespace balcap::detail {

struct DecodedImage {
  Image image;
  std::vector<uint8_t> exif;  // EXIF in TIFF layout ("Exif\0\0" prefix allowed); empty if none
  std::string xmp;            // XMP packet; empty if none
};

DecodedImage decode_png(std::span<const uint8_t> bytes, const std::string& name);
DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name);

// Throws the decompression-bomb error when width * height exceeds kMaxImagePixels.
void check_image_size(int64_t width, int64_t height, const std::string& name);

}  // namespace balcap::detail
