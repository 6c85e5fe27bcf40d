// Transparency parity: PNGs with an alpha channel (RGBA, grey+alpha, 8 and 16 bit), palette alpha
// (tRNS with partial alpha) and 16-bit RGB colour keys, decoded and run through the Qwen2-VL and
// CLIP processors, against transformers given the image *path* (ref_vision.py make_alpha_images).
//
// The rule (src/vision/png_decode.cpp states it with the arithmetic): for a path, transformers'
// image_utils.load_image calls convert("RGB") before the processor's convert_to_rgb runs, so an
// alpha channel and partial palette alpha are dropped (the stored colour is kept, even under
// alpha 0); only a colour key survives to be composited onto white. A PIL object from Image.open
// handed to the processor would instead be alpha-composited onto white by convert_to_rgb: the
// last test shows that route differs on these images, so a decoder that composited would fail.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <stdexcept>

#include "vision/image.h"
#include "vision/image_processor.h"
#include "vision_reference.h"

namespace balcap {
namespace {

// Same targets as vision_processor_parity_test.cpp (normalised units).
constexpr double kMaxAbs = 0.1;
constexpr double kMeanAbs = 0.01;

const nlohmann::json& decode_entry(const std::string& name) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const auto found = test::manifest_entries("decode", "name", name);
  if (found.size() != 1) throw std::runtime_error("no single decode reference for " + name);
  return cache.emplace(name, found[0]).first->second;
}

// The decoded RGB [H, W, 3] equals PIL's load_image + convert_to_rgb byte for byte.
vision::Image expect_decode_matches(const std::string& name) {
  const nlohmann::json& entry = decode_entry(name);
  const vision::Image image = vision::decode_image_file(entry["path"].get<std::string>());
  EXPECT_EQ(image.width, entry["width"].get<int>());
  EXPECT_EQ(image.height, entry["height"].get<int>());
  const std::string expected = test::reference_bytes(entry["file"]);
  EXPECT_EQ(image.rgb.size(), expected.size());
  if (image.rgb.size() != expected.size()) return image;
  const auto stats = test::diff_stats(image.rgb.data(), reinterpret_cast<const uint8_t*>(expected.data()),
                                      expected.size());
  std::cout << "decode " << name << " (PIL mode " << entry["mode"].get<std::string>() << "): max " << stats.max
            << " levels\n";
  EXPECT_EQ(stats.max, 0.0) << name << ": " << stats.differing << " values differ from PIL";
  return image;
}

// pixel_values (and grid_thw for Qwen2-VL) equal transformers' PIL backend on the path.
void expect_processor_matches(const nlohmann::json& entry, const vision::Image& image) {
  const std::string model = entry["model"];
  SCOPED_TRACE(model);
  const auto processor = vision::load_image_processor(test::reference_path("vision", "models/" + model));
  const vision::ProcessedImage result = processor->process(image);
  const std::vector<int64_t> shape = entry["shape"];
  ASSERT_EQ(result.pixel_values.sizes().vec(), shape);
  if (entry.contains("image_grid_thw")) {
    const int64_t* g = result.image_grid_thw.data_ptr<int64_t>();
    EXPECT_EQ(std::vector<int64_t>(g, g + 3), entry["image_grid_thw"].get<std::vector<int64_t>>());
  }
  const std::vector<float> expected = test::reference_floats(entry["file"]);
  ASSERT_EQ(size_t(result.pixel_values.numel()), expected.size());
  const auto stats = test::diff_stats(result.pixel_values.data_ptr<float>(), expected.data(), expected.size());
  std::cout << "  processor " << model << ": max " << stats.max << " mean " << stats.mean << "\n";
  EXPECT_LE(stats.max, kMaxAbs);
  EXPECT_LE(stats.mean, kMeanAbs);
}

// Decode, then both Qwen2-VL configurations and CLIP, against transformers on the same path.
void expect_image_matches_transformers(const std::string& name) {
  SCOPED_TRACE(name);
  const vision::Image image = expect_decode_matches(name);
  int qwen = 0, clip = 0;
  for (const auto& entry : test::manifest_entries("processed", "image", name)) {
    ASSERT_FALSE(entry.contains("error")) << entry["error"];
    expect_processor_matches(entry, image);
    (entry["model"].get<std::string>() == "clip" ? clip : qwen) += 1;
  }
  EXPECT_EQ(qwen, 2) << "qwen_small and qwen_v5size references expected";
  EXPECT_EQ(clip, 1) << "a CLIP reference expected";
}

TEST(VisionAlphaParity, HalfTransparentRgbaPngKeepsItsStoredColourAsTransformersDoesForAPath) {
  expect_image_matches_transformers("alpha_rgba_half_64x48.png");
}

TEST(VisionAlphaParity, FullyTransparentRgbaPixelsKeepTheirStoredColourNotWhite) {
  const std::string name = "alpha_rgba_ramp_64x48.png";
  expect_image_matches_transformers(name);
  // Column 0 has alpha 0 and a dark stored colour (red ~ 0): compositing would make it white.
  const vision::Image image = vision::decode_image_file(decode_entry(name)["path"].get<std::string>());
  int white = 0;
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* p = &image.rgb[size_t(y) * image.width * 3];
    white += p[0] == 255 && p[1] == 255 && p[2] == 255;
  }
  EXPECT_EQ(white, 0);
}

TEST(VisionAlphaParity, GreyAlphaPngIsReplicatedToRgbWithItsAlphaDropped) {
  expect_image_matches_transformers("alpha_la_64x48.png");
}

TEST(VisionAlphaParity, PalettePngWithPartialTrnsAlphaLooksUpItsColoursAndIgnoresTheAlpha) {
  expect_image_matches_transformers("alpha_palette_partial_64x48.png");
}

TEST(VisionAlphaParity, SixteenBitRgbaAndGreyAlphaPngsKeepTheHighByteAndDropTheAlpha) {
  expect_image_matches_transformers("alpha_rgba16_64x48.png");
  expect_image_matches_transformers("alpha_la16_64x48.png");
}

TEST(VisionAlphaParity, RgbaPngWithAStrayTrnsChunkIgnoresItAsPilDoes) {
  expect_image_matches_transformers("alpha_rgba16_stray_trns_64x48.png");
}

// The key pixel (32, 24) is (173, 105, 100): a key of 16-bit values (173 << 8 | 0x5A, ...) leaves it
// as is, a key of (173, 105, 100) written as 16-bit values turns it white.
TEST(VisionAlphaParity, SixteenBitRgbColourKeyIsComparedWithTheEightBitPixelsAsPilDoes) {
  const auto key_pixel = [](const vision::Image& image) {
    const uint8_t* p = &image.rgb[(size_t(24) * image.width + 32) * 3];
    return std::vector<int>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(key_pixel(expect_decode_matches("alpha_rgb16_key_64x48.png")), (std::vector<int>{173, 105, 100}));
  EXPECT_EQ(key_pixel(expect_decode_matches("alpha_rgb16_lowkey_64x48.png")), (std::vector<int>{255, 255, 255}));
  expect_image_matches_transformers("alpha_rgb16_key_64x48.png");
  expect_image_matches_transformers("alpha_rgb16_lowkey_64x48.png");
}

TEST(VisionAlphaParity, EveryAlphaImageOfTheReferenceIsCovered) {
  const std::vector<std::string> covered = {
      "alpha_rgba_half_64x48.png", "alpha_rgba_ramp_64x48.png", "alpha_la_64x48.png",
      "alpha_palette_partial_64x48.png", "alpha_rgba16_64x48.png", "alpha_la16_64x48.png",
      "alpha_rgba16_stray_trns_64x48.png", "alpha_rgb16_key_64x48.png", "alpha_rgb16_lowkey_64x48.png"};
  std::vector<std::string> listed;
  for (const auto& entry : test::vision_manifest()["alpha"]) listed.push_back(entry["name"]);
  EXPECT_EQ(listed, covered) << "ref_vision.py make_alpha_images and this test list different images";
}

// The PIL-object route (convert_to_rgb's alpha_composite onto white) is far from what balcap and
// the path route give on every partial-alpha image: these references would catch a compositing
// decoder.
TEST(VisionAlphaParity, CompositingOntoWhiteWouldMissTheseReferencesSoTheRuleIsTested) {
  int partial = 0;
  for (const auto& entry : test::vision_manifest()["alpha"]) {
    if (!entry["partial_alpha"].get<bool>()) continue;
    const std::string name = entry["name"];
    const vision::Image image = vision::decode_image_file(decode_entry(name)["path"].get<std::string>());
    const std::string composited = test::reference_bytes(entry["composited_file"]);
    ASSERT_EQ(image.rgb.size(), composited.size()) << name;
    const auto stats = test::diff_stats(image.rgb.data(), reinterpret_cast<const uint8_t*>(composited.data()),
                                        composited.size());
    std::cout << name << ": balcap vs alpha-composited onto white: mean " << stats.mean << " levels\n";
    EXPECT_GT(stats.mean, 5.0) << name;
    ++partial;
  }
  EXPECT_EQ(partial, 7);
}

}  // namespace
}  // namespace balcap
