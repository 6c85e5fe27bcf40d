// smart_resize against values worked out by hand from transformers' formula (and checked with
// transformers' own smart_resize): rounding, both pixel limits, the max(factor, .) clamp and the
// aspect-ratio error.
#include <gtest/gtest.h>

#include "core/error.h"
#include "vision/smart_resize.h"

namespace balcap {
namespace {

constexpr int64_t kHubMin = 3136, kHubMax = 12845056;  // Qwen2-VL/2.5-VL preprocessor_config.json

void expect_target(int64_t height, int64_t width, int64_t min_pixels, int64_t max_pixels, int64_t expected_h,
                   int64_t expected_w) {
  const vision::ResizeTarget t = vision::smart_resize(height, width, 28, min_pixels, max_pixels);
  EXPECT_EQ(t.height, expected_h) << height << "x" << width;
  EXPECT_EQ(t.width, expected_w) << height << "x" << width;
}

TEST(VisionSmartResize, A640x480PhotoBecomes644x476AsInTheNotes) {
  // round(480/28 = 17.14) * 28 = 476, round(640/28 = 22.86) * 28 = 644 -> 391 tokens.
  expect_target(480, 640, kHubMin, kHubMax, 476, 644);
}

TEST(VisionSmartResize, HalvesRoundToEvenLikePythonRound) {
  expect_target(70, 70, kHubMin, kHubMax, 56, 56);  // 2.5 -> 2, not 3
  expect_target(42, 42, kHubMin, kHubMax, 56, 56);  // 1.5 -> 2
}

TEST(VisionSmartResize, LargeImagesShrinkUnderMaxPixelsWithFloor) {
  // 1008^2 > 100352: beta = sqrt(1e6 / 100352) = 3.157, floor(1000 / 3.157 / 28) = 11 -> 308.
  expect_target(1000, 1000, kHubMin, 100352, 308, 308);
  // 2048x1365 at the class default max 1003520: beta = 1.6700, floor(43.8) = 43 -> 1204, floor(29.2) = 29 -> 812.
  expect_target(2048, 1365, kHubMin, 1003520, 1204, 812);
}

TEST(VisionSmartResize, TinyImagesGrowOverMinPixelsWithCeil) {
  expect_target(1, 1, kHubMin, kHubMax, 56, 56);      // beta = 56: ceil(56 / 28) = 2 -> 56
  expect_target(3, 600, kHubMin, kHubMax, 28, 812);   // beta = 1.32: ceil(0.14) = 1, ceil(28.28) = 29
}

TEST(VisionSmartResize, AShrunkSideNeverGoesBelowOneFactor) {
  // beta = sqrt(60000 / 3136) = 4.374: floor(20 / 4.374 / 28) = 0 -> max(28, 0) = 28; 3000 -> 24 * 28.
  expect_target(20, 3000, kHubMin, 3136, 28, 672);
}

TEST(VisionSmartResize, AspectRatioOfExactly200IsAccepted) {
  EXPECT_NO_THROW(vision::smart_resize(3, 600, 28, kHubMin, kHubMax));
}

TEST(VisionSmartResize, AspectRatioOver200IsAClearErrorLikeHf) {
  try {
    vision::smart_resize(3, 4000, 28, kHubMin, kHubMax, "image photo.png");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("photo.png"), std::string::npos) << message;
    EXPECT_NE(message.find("aspect ratio of 1333.3"), std::string::npos) << message;
    EXPECT_NE(message.find("HINT"), std::string::npos) << message;
  }
  EXPECT_THROW(vision::smart_resize(4000, 3, 28, kHubMin, kHubMax), Error);
}

}  // namespace
}  // namespace balcap
