#pragma once
// Private to src/vision: the JPEG decoder behind decode_image_bytes (libjpeg-turbo; jpeg_decode.cpp
// lists what it matches in PIL).
#include <cstdint>
#include <span>
#include <string>

#include "vision/decoded_image.h"

namespace balcap::vision::detail {

// Throws balcap::Error naming `name` on any malformed input, and on more than max_pixels pixels.
DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels);

}  // namespace balcap::vision::detail
