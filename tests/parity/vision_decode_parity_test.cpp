// Decoding parity: balcap's PNG/JPEG decoders against PIL as transformers' image processor sees a
// PIL image object (Image.open, ImageOps.exif_transpose, then the processor's convert_to_rgb, which
// alpha-composites transparency onto white), on the real photos and the synthetic images of
// ref_vision.py (16-bit, 1/4-bit, interlaced, grey+alpha, RGBA, palette+tRNS, colour keys, CMYK,
// progressive, EXIF 1..8, XMP).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <iostream>

#include "vision/image.h"
#include "vision/resample.h"
#include "vision_reference.h"

namespace balcap {
namespace {

using test::diff_stats;
using test::vision_manifest;

// PNG decoding is exact; JPEG goes through libjpeg-turbo in both, but PIL bundles 3.x and the
// system may have 2.x: allow the measured bound (islow IDCT + fancy upsampling: 0 so far).
constexpr double kJpegMaxLevels = 2.0;

void expect_matches_pil(const nlohmann::json& entry) {
  const std::string path = entry["path"];
  SCOPED_TRACE(path);
  const vision::Image image = vision::decode_image_file(path);
  ASSERT_EQ(image.width, entry["width"].get<int>());
  ASSERT_EQ(image.height, entry["height"].get<int>());
  const std::string expected = test::reference_bytes(entry["file"]);
  ASSERT_EQ(image.rgb.size(), expected.size());
  const auto stats = diff_stats(image.rgb.data(), reinterpret_cast<const uint8_t*>(expected.data()), expected.size());
  std::cout << "decode " << entry["name"].get<std::string>() << " (" << entry["format"].get<std::string>() << " "
            << entry["mode"].get<std::string>() << "): max " << stats.max << " mean " << stats.mean << " levels\n";
  if (entry["format"] == "PNG") {
    EXPECT_EQ(stats.max, 0.0) << "PNG decoding must equal PIL exactly";
  } else {
    EXPECT_LE(stats.max, kJpegMaxLevels);
  }
}

TEST(VisionDecodeParity, EveryTestImageDecodesAsPilGivesItToTheProcessor) {
  const auto& entries = vision_manifest()["decode"];
  ASSERT_GE(entries.size(), 40u);
  for (const auto& entry : entries) expect_matches_pil(entry);
}

TEST(VisionDecodeParity, AllEightExifOrientationsMatchPilExifTranspose) {
  int checked = 0;
  for (const auto& entry : vision_manifest()["decode"]) {
    const std::string name = entry["name"];
    if (name.find("exif") == std::string::npos && name.find("xmp") == std::string::npos) continue;
    expect_matches_pil(entry);
    ++checked;
  }
  // JPEG APP1 orientations 1..8, PNG eXIf (6), PNG "Raw profile type exif" (8), JPEG XMP (6).
  EXPECT_EQ(checked, 11);
}

TEST(VisionResampleParity, BicubicResizeEqualsPilBitForBit) {
  const auto& entries = vision_manifest()["resample"];
  ASSERT_GE(entries.size(), 6u);
  for (const auto& entry : entries) {
    const vision::Image source = vision::decode_image_file(entry["path"].get<std::string>());
    const int width = entry["width"], height = entry["height"];
    SCOPED_TRACE(fmt::format("{}x{} -> {}x{}", source.width, source.height, width, height));
    const vision::Image resized = vision::resize_bicubic(source, width, height);
    const std::string expected = test::reference_bytes(entry["file"]);
    ASSERT_EQ(resized.rgb.size(), expected.size());
    const auto stats = diff_stats(resized.rgb.data(), reinterpret_cast<const uint8_t*>(expected.data()), expected.size());
    std::cout << "resample " << source.width << "x" << source.height << " -> " << width << "x" << height
              << ": max " << stats.max << " levels, " << stats.differing << " differing values\n";
    EXPECT_EQ(stats.max, 0.0);
  }
}

}  // namespace
}  // namespace balcap
