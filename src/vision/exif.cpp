// EXIF/XMP orientation parsing and the eight transpositions of PIL's exif_transpose.
#include "vision/exif.h"

#include <cstring>
#include <optional>

namespace balcap::vision {
namespace {

// Bounds-checked big/little-endian reads inside the TIFF block.
struct TiffReader {
  std::span<const uint8_t> data;
  bool little_endian = true;

  std::optional<uint32_t> u16(size_t at) const {
    if (at + 2 > data.size()) return std::nullopt;
    return little_endian ? uint32_t(data[at] | data[at + 1] << 8) : uint32_t(data[at] << 8 | data[at + 1]);
  }
  std::optional<uint32_t> u32(size_t at) const {
    auto lo = u16(little_endian ? at : at + 2);
    auto hi = u16(little_endian ? at + 2 : at);
    if (!lo || !hi) return std::nullopt;
    return *lo | *hi << 16;
  }
};

constexpr uint32_t kOrientationTag = 0x0112;

// The inline value of a count-1 entry of an integer TIFF type, as PIL would read it.
std::optional<int> entry_value(const TiffReader& tiff, size_t entry) {
  auto type = tiff.u16(entry + 2);
  auto count = tiff.u32(entry + 4);
  if (!type || !count || *count != 1) return std::nullopt;  // PIL gives a tuple: no transpose
  switch (*type) {
    case 1:  // BYTE
      return entry + 8 < tiff.data.size() ? std::optional<int>(tiff.data[entry + 8]) : std::nullopt;
    case 3:  // SHORT
      if (auto v = tiff.u16(entry + 8)) return int(*v);
      return std::nullopt;
    case 4:  // LONG
      if (auto v = tiff.u32(entry + 8)) return int(*v);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace

int exif_orientation(std::span<const uint8_t> exif) {
  if (exif.size() >= 6 && std::memcmp(exif.data(), "Exif\0\0", 6) == 0) exif = exif.subspan(6);
  if (exif.size() < 8) return 0;
  TiffReader tiff{exif, exif[0] == 'I'};
  if (!((exif[0] == 'I' && exif[1] == 'I') || (exif[0] == 'M' && exif[1] == 'M'))) return 0;
  auto ifd = tiff.u32(4);
  if (!ifd) return 0;
  auto entries = tiff.u16(*ifd);
  if (!entries) return 0;
  for (uint32_t i = 0; i < *entries; ++i) {
    size_t entry = size_t(*ifd) + 2 + 12 * size_t(i);
    auto tag = tiff.u16(entry);
    if (!tag) return 0;
    if (*tag == kOrientationTag) return entry_value(tiff, entry).value_or(0);
  }
  return 0;
}

int xmp_orientation(std::string_view xmp) {
  // PIL: re.search(r'tiff:Orientation(="|>)([0-9])', xmp) -- the first match only.
  constexpr std::string_view key = "tiff:Orientation";
  for (size_t at = xmp.find(key); at != std::string_view::npos; at = xmp.find(key, at + 1)) {
    std::string_view rest = xmp.substr(at + key.size());
    size_t skip = rest.starts_with("=\"") ? 2 : rest.starts_with(">") ? 1 : 0;
    if (skip != 0 && rest.size() > skip && rest[skip] >= '0' && rest[skip] <= '9') return rest[skip] - '0';
  }
  return 0;
}

Image apply_exif_orientation(const Image& image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const int w = image.width, h = image.height;
  const bool swap = orientation >= 5;
  Image out{swap ? h : w, swap ? w : h, std::vector<uint8_t>(image.rgb.size())};
  // For each output pixel (x, y), the source pixel (sx, sy) in the stored image.
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = w - 1 - x; break;                      // FLIP_LEFT_RIGHT
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;      // ROTATE_180
        case 4: sy = h - 1 - y; break;                      // FLIP_TOP_BOTTOM
        case 5: sx = y; sy = x; break;                      // TRANSPOSE
        case 6: sx = y; sy = h - 1 - x; break;              // ROTATE_270 (90 clockwise)
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;      // TRANSVERSE
        case 8: sx = w - 1 - y; sy = x; break;              // ROTATE_90 (90 counter-clockwise)
      }
      std::memcpy(&out.rgb[(size_t(y) * out.width + x) * 3], &image.rgb[(size_t(sy) * w + sx) * 3], 3);
    }
  }
  return out;
}

}  // namespace balcap::vision
