// Processor parity: balcap's Qwen2-VL and CLIP processors against transformers'
// Qwen2VLImageProcessorPil / CLIPImageProcessorPil given the same image (opened and EXIF-transposed by PIL), for the real
// photos and odd synthetic sizes, with preprocessor_config.json dirs written by ref_vision.py.
// Targets (normalised units): mean abs diff <= 0.01, max <= 0.1; grid_thw and token counts equal.
#include <gtest/gtest.h>

#include <iostream>

#include "core/error.h"
#include "vision/image_processor.h"
#include "vision_reference.h"

namespace balcap {
namespace {

constexpr double kMaxAbs = 0.1;
constexpr double kMeanAbs = 0.01;

void expect_matches_hf(const nlohmann::json& entry) {
  const std::string model = entry["model"], name = entry["image"];
  SCOPED_TRACE(model + " / " + name);
  const auto processor = vision::load_image_processor(test::reference_path("vision", "models/" + model));
  const vision::Image image = vision::decode_image_file(entry["path"].get<std::string>());
  if (entry.contains("error")) {  // HF raised (aspect ratio > 200): balcap must refuse too
    EXPECT_THROW(processor->process(image), Error) << "HF: " << entry["error"];
    std::cout << "processor " << model << " " << name << ": error, as HF (" << entry["error"].get<std::string>()
              << ")\n";
    return;
  }
  const vision::ProcessedImage result = processor->process(image);
  std::vector<int64_t> shape = entry["shape"];
  ASSERT_EQ(result.pixel_values.sizes().vec(), shape);
  ASSERT_EQ(result.pixel_values.scalar_type(), at::kFloat);
  if (entry.contains("image_grid_thw")) {
    std::vector<int64_t> grid = entry["image_grid_thw"];
    ASSERT_TRUE(result.image_grid_thw.defined());
    EXPECT_EQ(result.image_grid_thw.sizes().vec(), (std::vector<int64_t>{1, 3}));
    const int64_t* g = result.image_grid_thw.data_ptr<int64_t>();
    EXPECT_EQ(std::vector<int64_t>(g, g + 3), grid);
    EXPECT_EQ(result.num_image_tokens, shape[0] / 4);
  } else {
    EXPECT_FALSE(result.image_grid_thw.defined());
    EXPECT_EQ(result.num_image_tokens, 576);  // (336 / 14)^2
  }
  const std::vector<float> expected = test::reference_floats(entry["file"]);
  ASSERT_EQ(size_t(result.pixel_values.numel()), expected.size());
  const auto stats = test::diff_stats(result.pixel_values.data_ptr<float>(), expected.data(), expected.size());
  std::cout << "processor " << model << " " << name << " " << result.pixel_values.sizes() << ": max "
            << stats.max << " mean " << stats.mean << " (" << stats.differing << " differing values)\n";
  EXPECT_LE(stats.max, kMaxAbs);
  EXPECT_LE(stats.mean, kMeanAbs);
}

void check_model(const std::string& prefix, size_t minimum_cases) {
  size_t checked = 0;
  for (const auto& entry : test::vision_manifest()["processed"]) {
    if (!entry["model"].get<std::string>().starts_with(prefix)) continue;
    expect_matches_hf(entry);
    ++checked;
  }
  EXPECT_GE(checked, minimum_cases);
}

TEST(VisionProcessorParity, Qwen2VLMatchesHfPilBackendOnPhotosAndOddSizes) { check_model("qwen", 50); }

TEST(VisionProcessorParity, ClipMatchesHfPilBackendOnPhotosAndOddSizes) { check_model("clip", 20); }

}  // namespace
}  // namespace balcap
