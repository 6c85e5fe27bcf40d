// Image processors on hand-computable inputs (patch order, normalisation, shapes, token counts)
// and load_image_processor's choice of processor and its config errors.
#include <gtest/gtest.h>

#include "core/error.h"
#include "vision/clip_processor.h"
#include "vision/image_processor.h"
#include "vision/qwen2_vl_processor.h"
#include "support/test_support.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;

fs::path model_dir(const std::string& preprocessor, const std::string& config = "") {
  const fs::path dir = test::scratch_dir();
  test::write_file(dir / "preprocessor_config.json", preprocessor);
  if (!config.empty()) test::write_file(dir / "config.json", config);
  return dir;
}

std::string error_of(const fs::path& dir) {
  try {
    vision::load_image_processor(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

vision::Image solid(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  vision::Image image{width, height, {}};
  for (int i = 0; i < width * height; ++i) image.rgb.insert(image.rgb.end(), {r, g, b});
  return image;
}

TEST(VisionProcessor, QwenPatchRowsFollowMergeBlocksAndColumnsFollowConv3dWeights) {
  // 56x56 needs no resize (smart_resize(56, 56) = 56x56); raw values: rescale/normalise off.
  vision::Qwen2VLProcessorConfig config;
  config.do_rescale = config.do_normalize = false;
  vision::Image image{56, 56, {}};
  for (int y = 0; y < 56; ++y)
    for (int x = 0; x < 56; ++x) image.rgb.insert(image.rgb.end(), {uint8_t(y), uint8_t(x), uint8_t(y + x)});
  const vision::ProcessedImage out = vision::Qwen2VLImageProcessor(config).process(image);
  ASSERT_EQ(out.pixel_values.sizes().vec(), (std::vector<int64_t>{16, 1176}));  // grid 4x4
  auto at = [&](int64_t r, int64_t c) { return out.pixel_values[r][c].item<float>(); };
  // Row 5 = merge block (0, 1), cell (0, 1): patch row 0, patch column 3 -> pixels x = 42..55.
  // Column ((ch * 2 + t) * 14 + py) * 14 + px.
  EXPECT_EQ(at(5, (0 * 14 + 2) * 14 + 7), 2.0f);       // R, t 0, py 2: y = 2
  EXPECT_EQ(at(5, ((1 * 2 + 0) * 14 + 0) * 14 + 7), 49.0f);  // G, px 7: x = 42 + 7
  EXPECT_EQ(at(5, ((1 * 2 + 1) * 14 + 0) * 14 + 7), 49.0f);  // t 1 repeats the frame
  // Row 10 = merge block (1, 0), cell (1, 0): patch row 3, column 0 -> y = 42 + py.
  EXPECT_EQ(at(10, ((2 * 2 + 0) * 14 + 4) * 14 + 5), float(42 + 4 + 5));  // B = y + x
  EXPECT_EQ(out.image_grid_thw.sizes().vec(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(out.image_grid_thw[0][1].item<int64_t>(), 4);
  EXPECT_EQ(out.num_image_tokens, 4);
}

TEST(VisionProcessor, Qwen640x480PhotoGives1564PatchesAnd391Tokens) {
  vision::Qwen2VLProcessorConfig config;
  config.min_pixels = 3136, config.max_pixels = 12845056;
  const vision::ProcessedImage out = vision::Qwen2VLImageProcessor(config).process(solid(640, 480, 10, 20, 30));
  EXPECT_EQ(out.pixel_values.sizes().vec(), (std::vector<int64_t>{1564, 1176}));
  EXPECT_EQ(out.image_grid_thw[0][1].item<int64_t>(), 34);
  EXPECT_EQ(out.image_grid_thw[0][2].item<int64_t>(), 46);
  EXPECT_EQ(out.num_image_tokens, 391);
}

TEST(VisionProcessor, ClipNormalisesWithClipMeanAndStdTo336Crop) {
  const vision::ProcessedImage out = vision::ClipImageProcessor(vision::ClipProcessorConfig::from_json(
      nlohmann::json::parse(R"({"size": {"shortest_edge": 336}, "crop_size": 336})"), "test.json"))
                                 .process(solid(500, 400, 255, 0, 128));
  EXPECT_EQ(out.pixel_values.sizes().vec(), (std::vector<int64_t>{1, 3, 336, 336}));
  EXPECT_FALSE(out.image_grid_thw.defined());
  EXPECT_EQ(out.num_image_tokens, 576);
  // (v / 255 - mean) / std: R (1 - 0.48145466) / 0.26862954, G -0.4578275 / 0.26130258.
  EXPECT_NEAR(out.pixel_values[0][0][100][100].item<float>(), 1.9303361, 1e-6);
  EXPECT_NEAR(out.pixel_values[0][1][0][0].item<float>(), -1.7520971, 1e-6);
}

TEST(VisionProcessor, ProcessorFollowsImageProcessorTypeThenModelType) {
  EXPECT_EQ(vision::load_image_processor(model_dir(R"({"image_processor_type": "Qwen2VLImageProcessor"})"))->kind(),
            "qwen2_vl");
  EXPECT_EQ(vision::load_image_processor(model_dir(R"({"image_processor_type": "CLIPImageProcessorFast"})"))->kind(),
            "clip");
  EXPECT_EQ(vision::load_image_processor(model_dir("{}", R"({"model_type": "llava"})"))->kind(), "clip");
  EXPECT_EQ(vision::load_image_processor(model_dir("{}", R"({"model_type": "qwen2_5_vl"})"))->kind(), "qwen2_vl");
}

TEST(VisionProcessor, QwenPixelLimitsComeFromMinMaxPixelsOrV5SizeNames) {
  auto limits = [](const std::string& json) {
    auto processor = vision::load_image_processor(model_dir(json, R"({"model_type": "qwen2_vl"})"));
    const auto& c = dynamic_cast<const vision::Qwen2VLImageProcessor&>(*processor).config();
    return std::pair{c.min_pixels, c.max_pixels};
  };
  EXPECT_EQ(limits("{}"), (std::pair<int64_t, int64_t>{3136, 1003520}));  // class defaults
  EXPECT_EQ(limits(R"({"size": {"shortest_edge": 100, "longest_edge": 200}})"), (std::pair<int64_t, int64_t>{100, 200}));
  EXPECT_EQ(limits(R"({"size": {"shortest_edge": 1, "longest_edge": 2}, "min_pixels": 3136, "max_pixels": 12845056})"),
            (std::pair<int64_t, int64_t>{3136, 12845056}));
}

TEST(VisionProcessor, RunConfigPixelBoundsOverrideTheCheckpointsAndZeroKeepsThem) {
  const fs::path dir = model_dir(R"({"min_pixels": 3136, "max_pixels": 1003520})", R"({"model_type": "qwen2_5_vl"})");
  auto bounds_of = [&](vision::PixelBounds bounds) {
    auto processor = vision::load_image_processor(dir, bounds);
    const auto& c = dynamic_cast<const vision::Qwen2VLImageProcessor&>(*processor).config();
    return std::pair{c.min_pixels, c.max_pixels};
  };
  EXPECT_EQ(bounds_of({0, 0}), (std::pair<int64_t, int64_t>{3136, 1003520}));
  EXPECT_EQ(bounds_of({0, 12544}), (std::pair<int64_t, int64_t>{3136, 12544}));
  EXPECT_EQ(bounds_of({6272, 0}), (std::pair<int64_t, int64_t>{6272, 1003520}));
  // 640x480 under a 112*112 budget: at most 64 patches of 14 px.
  const vision::ProcessedImage out = vision::load_image_processor(dir, {0, 12544})->process(solid(640, 480, 1, 2, 3));
  EXPECT_LE(out.pixel_values.size(0) * 14 * 14, 12544);
}

TEST(VisionProcessor, PixelBoundsOnAClipProcessorOrMinAboveMaxNameTheKeys) {
  auto message = [](const fs::path& dir, vision::PixelBounds bounds) {
    try {
      vision::load_image_processor(dir, bounds);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string clip = message(model_dir("{}", R"({"model_type": "llava"})"), {0, 12544});
  EXPECT_NE(clip.find("model.max_pixels"), std::string::npos) << clip;
  EXPECT_NE(clip.find("HINT"), std::string::npos) << clip;
  const std::string order = message(model_dir("{}", R"({"model_type": "qwen2_vl"})"), {20000, 10000});
  EXPECT_NE(order.find("model.min_pixels (20000)"), std::string::npos) << order;
}

TEST(VisionProcessor, UnknownProcessorTypeIsNamedInTheError) {
  const std::string message = error_of(model_dir(R"({"image_processor_type": "SiglipImageProcessor"})"));
  EXPECT_NE(message.find("SiglipImageProcessor"), std::string::npos) << message;
  EXPECT_NE(message.find("HINT"), std::string::npos) << message;
  const std::string model_type = error_of(model_dir("{}", R"({"model_type": "gemma3"})"));
  EXPECT_NE(model_type.find("gemma3"), std::string::npos) << model_type;
}

TEST(VisionProcessor, MissingPreprocessorConfigNamesTheFile) {
  const std::string message = error_of(test::scratch_dir());
  EXPECT_NE(message.find("preprocessor_config.json"), std::string::npos) << message;
}

TEST(VisionProcessor, BadConfigValuesNameTheKey) {
  const std::string qwen = R"({"image_processor_type": "Qwen2VLImageProcessor", )";
  EXPECT_NE(error_of(model_dir(qwen + R"("image_mean": [0.5, 0.5]})")).find("image_mean"), std::string::npos);
  EXPECT_NE(error_of(model_dir(qwen + R"("resample": 2})")).find("resample"), std::string::npos);
  EXPECT_NE(error_of(model_dir(qwen + R"("patch_size": 0})")).find("patch_size"), std::string::npos);
  EXPECT_NE(error_of(model_dir(qwen + R"("size": {"longest_edge": 5}})")).find("size"), std::string::npos);
  const std::string clip = R"({"image_processor_type": "CLIPImageProcessor", )";
  EXPECT_NE(error_of(model_dir(clip + R"("crop_size": "big"})")).find("crop_size"), std::string::npos);
}

}  // namespace
}  // namespace balcap
