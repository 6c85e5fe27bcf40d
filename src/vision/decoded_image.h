#pragma once
// Private to src/vision: what a format decoder (png_decode.h, jpeg_decode.h) hands to
// decode_image_bytes: the stored (not yet EXIF-rotated) RGB image plus the orientation metadata
// PIL would see.
#include <cstdint>
#include <string>
#include <vector>

#include "vision/image.h"

namespace balcap::vision::detail {

struct DecodedImage {
  Image image;
  std::vector<uint8_t> exif;  // EXIF in TIFF layout ("Exif\0\0" prefix allowed); empty if none
  std::string xmp;            // XMP packet; empty if none
};

}  // namespace balcap::vision::detail
