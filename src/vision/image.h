#pragma once
// Decoded images and the decoder entry points (PNG via libpng, JPEG via libjpeg-turbo).
//
// The result is what transformers' image processors work on when given a PIL image object (as HF
// datasets and TRL hand them images; vLLM and qwen_vl_utils give the same for RGBA): PIL decode and
// `ImageOps.exif_transpose`, then the processor's `convert_to_rgb`, which alpha-composites any
// transparency onto white. So:
// grey is replicated to 3 channels, palette entries are looked up, 16-bit samples keep their high
// byte; alpha channels (RGBA, grey+alpha), palette tRNS alpha (per index) and PNG tRNS colour keys
// (grey, RGB) are composited onto white exactly as Pillow's alpha_composite (fully transparent ->
// (255, 255, 255)); CMYK JPEGs are read with Adobe (inverted) polarity and converted with PIL's
// formula; and the EXIF orientation (JPEG APP1, PNG eXIf, XMP tiff:Orientation) is applied.
// transformers given a file *path* drops the alpha instead (load_image's convert("RGB")); balcap
// does not follow that route. docs/formats.md ("Images") lists the rules and exceptions;
// png_decode.cpp's top comment traces the transformers calls and the compositing arithmetic.
// The format is detected from the magic bytes, never from the file extension.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace balcap::vision {

// An 8-bit RGB image. rgb: [height, width, 3] row-major (HWC).
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

// Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS * 2): larger images are refused.
inline constexpr int64_t kMaxImagePixels = 178956970;

// Reads and decodes `path`. Missing, empty, truncated, corrupt, oversized or non-image files ->
// balcap::Error naming the file, what is wrong and a HINT. max_pixels: as decode_image_bytes.
Image decode_image_file(const std::filesystem::path& path, int64_t max_pixels = kMaxImagePixels);

// Decodes an in-memory file; `name_for_errors` names it in error messages. Images of more than
// `max_pixels` pixels are refused before their pixels are allocated (the fuzz harness passes a
// smaller bound so that a valid huge image counts as refused rather than as out-of-memory).
Image decode_image_bytes(std::span<const uint8_t> bytes, const std::string& name_for_errors,
                         int64_t max_pixels = kMaxImagePixels);

namespace detail {
// For the format decoders (png_decode.h, jpeg_decode.h): throws the decompression-bomb error when
// width * height exceeds max_pixels.
void check_image_size(int64_t width, int64_t height, int64_t max_pixels, const std::string& name);
}  // namespace detail

}  // namespace balcap::vision
