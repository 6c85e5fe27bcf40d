// EXIF/XMP orientation parsing on hand-built TIFF blocks and the transpositions on a 3x2 image
// with hand-written expected layouts (the parity tests compare all eight with PIL as well).
#include <gtest/gtest.h>

#include "vision/exif.h"

namespace balcap {
namespace {

// TIFF block with one IFD0 entry: tag 0x0112, `type`, count, value (inline).
std::vector<uint8_t> tiff(bool little, uint16_t type, uint32_t count, uint16_t value, bool exif_prefix = false) {
  std::vector<uint8_t> b;
  if (exif_prefix) b = {'E', 'x', 'i', 'f', 0, 0};
  auto u16 = [&](uint16_t v) {
    if (little) b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)});
    else b.insert(b.end(), {uint8_t(v >> 8), uint8_t(v)});
  };
  auto u32 = [&](uint32_t v) {
    if (little) { u16(uint16_t(v)); u16(uint16_t(v >> 16)); }
    else { u16(uint16_t(v >> 16)); u16(uint16_t(v)); }
  };
  b.insert(b.end(), little ? std::initializer_list<uint8_t>{'I', 'I'} : std::initializer_list<uint8_t>{'M', 'M'});
  u16(42);
  u32(8);  // IFD0 offset
  u16(1);  // one entry
  u16(0x0112);
  u16(type);
  u32(count);
  u16(value);
  u16(0);
  u32(0);  // next IFD
  return b;
}

TEST(VisionExif, OrientationIsReadInBothByteOrdersWithOrWithoutExifPrefix) {
  EXPECT_EQ(vision::exif_orientation(tiff(true, 3, 1, 6)), 6);
  EXPECT_EQ(vision::exif_orientation(tiff(false, 3, 1, 8)), 8);
  EXPECT_EQ(vision::exif_orientation(tiff(true, 3, 1, 3, true)), 3);
}

TEST(VisionExif, MalformedOrMultiValuedOrientationIsIgnored) {
  EXPECT_EQ(vision::exif_orientation(tiff(true, 3, 2, 6)), 0);  // PIL gets a tuple: no transpose
  auto truncated = tiff(true, 3, 1, 6);
  truncated.resize(12);
  EXPECT_EQ(vision::exif_orientation(truncated), 0);
  EXPECT_EQ(vision::exif_orientation(std::vector<uint8_t>{'X', 'X', 0, 0, 0, 0, 0, 0}), 0);
  EXPECT_EQ(vision::exif_orientation({}), 0);
}

TEST(VisionExif, XmpOrientationInAttributeAndElementForm) {
  EXPECT_EQ(vision::xmp_orientation("<rdf:Description tiff:Orientation=\"6\"/>"), 6);
  EXPECT_EQ(vision::xmp_orientation("<tiff:Orientation>3</tiff:Orientation>"), 3);
  EXPECT_EQ(vision::xmp_orientation("<x tiff:OrientationX=\"6\"/>"), 0);
  EXPECT_EQ(vision::xmp_orientation(""), 0);
}

// 3 wide x 2 high; pixel value = index a..f (one channel shown, all three equal).
//   a b c
//   d e f
vision::Image letters() {
  vision::Image image{3, 2, {}};
  for (uint8_t v : {'a', 'b', 'c', 'd', 'e', 'f'}) image.rgb.insert(image.rgb.end(), {v, v, v});
  return image;
}

std::string layout(const vision::Image& image) {
  std::string s;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) s += char(image.rgb[(size_t(y) * image.width + x) * 3]);
    s += '/';
  }
  return s;
}

TEST(VisionExif, EachOrientationTransposesAsPil) {
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 1)), "abc/def/");
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 2)), "cba/fed/");  // mirror
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 3)), "fed/cba/");  // rotate 180
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 4)), "def/abc/");  // flip
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 5)), "ad/be/cf/");  // transpose
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 6)), "da/eb/fc/");  // 90 clockwise
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 7)), "fc/eb/da/");  // transverse
  EXPECT_EQ(layout(vision::apply_exif_orientation(letters(), 8)), "cf/be/ad/");  // 90 counter-clockwise
}

}  // namespace
}  // namespace balcap
