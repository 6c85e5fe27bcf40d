// decode_image_file / decode_image_bytes: format detection by magic bytes, dispatch to the PNG
// or JPEG decoder, then the EXIF orientation (PIL's exif_transpose: EXIF first, XMP if the EXIF
// has no orientation tag).
#include "vision/image.h"

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "vision/exif.h"
#include "vision/jpeg_decode.h"
#include "vision/png_decode.h"

namespace balcap::vision {
namespace {

using namespace std::string_view_literals;  // "..."sv keeps embedded NULs in the magic bytes

bool starts_with(std::span<const uint8_t> bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
}

// A name for formats we recognise but do not decode, so the error can say what the file is.
const char* other_format(std::span<const uint8_t> bytes) {
  if (starts_with(bytes, "GIF87a"sv) || starts_with(bytes, "GIF89a"sv)) return "GIF";
  if (starts_with(bytes, "BM"sv)) return "BMP";
  if (starts_with(bytes, "RIFF"sv) && bytes.size() >= 12 && std::memcmp(bytes.data() + 8, "WEBP", 4) == 0) return "WebP";
  if (starts_with(bytes, "II*\0"sv) || starts_with(bytes, "MM\0*"sv)) return "TIFF";
  if (bytes.size() >= 12 && std::memcmp(bytes.data() + 4, "ftyp", 4) == 0) return "HEIF/AVIF";
  return nullptr;
}

int orientation_of(const detail::DecodedImage& decoded) {
  int orientation = exif_orientation(decoded.exif);
  if (orientation == 0) orientation = xmp_orientation(decoded.xmp);
  return orientation;
}

}  // namespace

namespace detail {
void check_image_size(int64_t width, int64_t height, int64_t max_pixels, const std::string& name) {
  BALCAP_CHECK(width * height <= max_pixels,
               "image {}: {}x{} pixels exceeds the limit of {} pixels (possible decompression bomb). HINT: "
               "downscale the image before training", name, width, height, max_pixels);
}
}  // namespace detail

Image decode_image_bytes(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels) {
  BALCAP_CHECK(!bytes.empty(), "image {}: the file is empty (0 bytes). HINT: re-copy or re-download the image",
               name);
  detail::DecodedImage decoded;
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n"sv)) {
    decoded = detail::decode_png(bytes, name, max_pixels);
  } else if (starts_with(bytes, "\xFF\xD8\xFF"sv)) {
    decoded = detail::decode_jpeg(bytes, name, max_pixels);
  } else if (const char* format = other_format(bytes)) {
    fail("image {}: {} images are not supported (only PNG and JPEG). HINT: convert it to PNG or JPEG", name,
         format);
  } else {
    fail("image {}: not a PNG or JPEG file (unrecognised leading bytes). HINT: check that the path points at an "
         "image; the format is detected from the content, not the extension", name);
  }
  const int orientation = orientation_of(decoded);
  if (orientation >= 2 && orientation <= 8) return apply_exif_orientation(decoded.image, orientation);
  return std::move(decoded.image);
}

Image decode_image_file(const std::filesystem::path& path, int64_t max_pixels) {
  // Regular files only: a device or FIFO (/dev/zero, /dev/stdin) would be read forever.
  std::error_code ec;  // a name too long or a component without permission: "cannot open" below
  BALCAP_CHECK(std::filesystem::is_regular_file(path, ec) || !std::filesystem::exists(path, ec),
               "image {}: cannot open: not a regular file (a directory, device or pipe). HINT: point at an image file",
               path.string());
  std::ifstream file(path, std::ios::binary);
  BALCAP_CHECK(file.good(), "image {}: cannot open the file. HINT: check that the path exists and is readable",
               path.string());
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  BALCAP_CHECK(!file.bad(), "image {}: read error. HINT: check the file system", path.string());
  return decode_image_bytes(bytes, path.string(), max_pixels);
}

}  // namespace balcap::vision
