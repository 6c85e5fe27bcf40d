// Transparency parity: PNGs with an alpha channel (RGBA, grey+alpha, 8 and 16 bit), palette alpha
// (partial tRNS, a per-index key, non-conforming tRNS placements) and 16-bit RGB colour keys, decoded
// and run through the Qwen2-VL and CLIP processors, against transformers given the PIL image object
// (ref_vision.py make_alpha_images and open_as_object).
//
// The rule (src/vision/png_decode.cpp states it with the arithmetic): the processor's convert_to_rgb
// alpha-composites any transparency onto white (PIL.Image.alpha_composite), which is what it does
// with an image object from Image.open / HF datasets and what vLLM and qwen_vl_utils give for RGBA.
// transformers given a file path instead runs load_image, whose convert("RGB") drops the alpha
// first: the last test shows that route differs on these images, so a decoder that dropped alpha
// would fail here.
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

// The decoded RGB [H, W, 3] equals PIL's convert_to_rgb of the image object byte for byte.
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

// pixel_values (and grid_thw for Qwen2-VL) equal transformers' PIL backend given the image object.
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

// Decode, then both Qwen2-VL configurations and CLIP, against transformers on the same image object.
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

// Counts the pixels that are exactly (255, 255, 255) in column `x` of `image`.
int white_in_column(const vision::Image& image, int x) {
  int white = 0;
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* p = &image.rgb[(size_t(y) * image.width + x) * 3];
    white += p[0] == 255 && p[1] == 255 && p[2] == 255;
  }
  return white;
}

TEST(VisionAlphaParity, HalfTransparentRgbaPngIsCompositedOntoWhiteAsTransformersDoesForAnImage) {
  expect_image_matches_transformers("alpha_rgba_half_64x48.png");
}

// Column 0 has alpha 0 and a dark stored colour (red ~ 0): composited, it is white.
TEST(VisionAlphaParity, FullyTransparentRgbaPixelsBecomeWhiteWhateverTheirStoredColour) {
  const std::string name = "alpha_rgba_ramp_64x48.png";
  const vision::Image image = expect_decode_matches(name);
  EXPECT_EQ(white_in_column(image, 0), image.height);
  expect_image_matches_transformers(name);
}

// Red = column, alpha = row: the decoder's integer compositing equals Pillow's AlphaComposite.c on
// all 65536 (colour, alpha) pairs.
TEST(VisionAlphaParity, EveryColourAlphaPairCompositesExactlyAsPillowsAlphaComposite) {
  expect_image_matches_transformers("alpha_rgba_all_pairs_256x256.png");
}

TEST(VisionAlphaParity, RgbaPngWithAnExifOrientationIsCompositedAndRotated) {
  const vision::Image image = expect_decode_matches("alpha_rgba_orient6_64x48.png");
  EXPECT_EQ(image.width, 48);
  EXPECT_EQ(image.height, 64);
  expect_image_matches_transformers("alpha_rgba_orient6_64x48.png");
}

TEST(VisionAlphaParity, GreyAlphaPngIsCompositedOntoWhiteAndReplicatedToRgb) {
  expect_image_matches_transformers("alpha_la_64x48.png");
}

TEST(VisionAlphaParity, PalettePngWithPartialTrnsAlphaCompositesEachEntryOntoWhite) {
  expect_image_matches_transformers("alpha_palette_partial_64x48.png");
}

// Entry 1 repeats entry 0's colour and only entry 0 is transparent: PIL's convert("RGBA") keys the
// index, not the colour, so index-1 pixels keep their colour.
TEST(VisionAlphaParity, PaletteKeyMakesOnlyItsOwnIndexTransparentNotOtherEntriesOfTheSameColour) {
  expect_image_matches_transformers("alpha_palette_dupkey_64x48.png");
}

// Non-conforming files PIL still reads: a tRNS longer than PLTE (its alpha also reaches the indices
// past PLTE, black in PIL) and a tRNS after the image data.
TEST(VisionAlphaParity, PaletteTrnsLongerThanPlteOrAfterTheImageDataAppliesAsInPil) {
  expect_image_matches_transformers("alpha_palette_long_trns_64x48.png");
  expect_image_matches_transformers("alpha_palette_trns_after_idat_64x48.png");
}

TEST(VisionAlphaParity, SixteenBitRgbaAndGreyAlphaPngsKeepTheHighByteAndAreComposited) {
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
      "alpha_rgba_half_64x48.png", "alpha_rgba_ramp_64x48.png", "alpha_rgba_all_pairs_256x256.png",
      "alpha_rgba_orient6_64x48.png", "alpha_la_64x48.png", "alpha_palette_partial_64x48.png",
      "alpha_palette_dupkey_64x48.png", "alpha_palette_long_trns_64x48.png",
      "alpha_palette_trns_after_idat_64x48.png", "alpha_rgba16_64x48.png", "alpha_la16_64x48.png",
      "alpha_rgba16_stray_trns_64x48.png", "alpha_rgb16_key_64x48.png", "alpha_rgb16_lowkey_64x48.png"};
  std::vector<std::string> listed;
  for (const auto& entry : test::vision_manifest()["alpha"]) listed.push_back(entry["name"]);
  EXPECT_EQ(listed, covered) << "ref_vision.py make_alpha_images and this test list different images";
}

// transformers given the file *path* (load_image: convert("RGB") before convert_to_rgb) drops the
// alpha and keys palette colours, not indices: far from balcap on every such image, so these
// references would catch a decoder that dropped alpha. On colour keys both routes agree.
TEST(VisionAlphaParity, TransformersGivenAPathDropsTheAlphaSoThatRouteDiffersOnTheseImages) {
  int differing = 0;
  for (const auto& entry : test::vision_manifest()["alpha"]) {
    const std::string name = entry["name"];
    const vision::Image image = vision::decode_image_file(decode_entry(name)["path"].get<std::string>());
    const std::string path_route = test::reference_bytes(entry["path_route_file"]);
    ASSERT_EQ(image.rgb.size(), path_route.size()) << name;
    const auto stats = test::diff_stats(image.rgb.data(), reinterpret_cast<const uint8_t*>(path_route.data()),
                                        path_route.size());
    std::cout << name << ": balcap vs transformers given the path: mean " << stats.mean << " max " << stats.max
              << " levels\n";
    if (entry["path_route_differs"].get<bool>()) {
      EXPECT_GT(stats.mean, 1.0) << name;
      ++differing;
    } else {
      EXPECT_EQ(stats.max, 0.0) << name;
    }
  }
  EXPECT_EQ(differing, 12);
}

}  // namespace
}  // namespace balcap
