// Window index, attention segments and rotary positions of the Qwen2.5-VL vision tower on small
// grids worked out by hand from HF's get_vision_window_index / get_vision_position_ids
// (the parity test compares larger grids with transformers itself).
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "models/qwen2_5_vl_window_index.h"

namespace balcap {
namespace {

using Ints = std::vector<int64_t>;

// window 56 px / merge 2 / patch 14 -> windows of 2 x 2 merged tokens.
constexpr int64_t kMerge = 2;
constexpr int64_t kWindow = 56;
constexpr int64_t kPatch = 14;

TEST(VisionWindowIndex, WindowsAreRowMajorWithTokensRowMajorInside) {
  // Grid 4 x 6 patches -> 2 x 3 merged tokens, numbered
  //   0 1 | 2 .
  //   3 4 | 5 .
  // padded to 4 x 4 (HF pads 2 - 2 % 2 = 2 rows: a whole empty window row), windows 2 x 2:
  // window (0,0) = 0 1 3 4, window (0,1) = 2 5, windows (1,*) empty and dropped.
  const auto w = models::qwen2_5_vl_window_index(models::validated_vision_grids({1, 4, 6}, kMerge), kMerge, kWindow, kPatch);
  EXPECT_EQ(w.window_index, (Ints{0, 1, 3, 4, 2, 5}));
  EXPECT_EQ(w.cu_window_seqlens, (Ints{0, 16, 24}));  // lengths in patches: 4 tokens x 4, 2 tokens x 4
}

TEST(VisionWindowIndex, SecondImageContinuesTheNumberingAndTheBoundaries) {
  // The 1 x 1-token second image is unit 6 and one window of 4 patches.
  const auto w = models::qwen2_5_vl_window_index(models::validated_vision_grids({1, 4, 6, 1, 2, 2}, kMerge), kMerge, kWindow, kPatch);
  EXPECT_EQ(w.window_index, (Ints{0, 1, 3, 4, 2, 5, 6}));
  EXPECT_EQ(w.cu_window_seqlens, (Ints{0, 16, 24, 28}));
}

TEST(VisionWindowIndex, ASingleRowOfTokensSplitsAtWindowWidths) {
  // 1 x 5 tokens, windows of width 2: [0 1] [2 3] [4].
  const auto w = models::qwen2_5_vl_window_index(models::validated_vision_grids({1, 2, 10}, kMerge), kMerge, kWindow, kPatch);
  EXPECT_EQ(w.window_index, (Ints{0, 1, 2, 3, 4}));
  EXPECT_EQ(w.cu_window_seqlens, (Ints{0, 8, 16, 20}));
}

TEST(VisionWindowIndex, FramesAreWindowedOneAfterTheOther) {
  // t = 2 frames of 2 x 2 tokens: each frame one full window (plus dropped padding windows).
  const auto w = models::qwen2_5_vl_window_index(models::validated_vision_grids({2, 4, 4}, kMerge), kMerge, kWindow, kPatch);
  EXPECT_EQ(w.window_index, (Ints{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(w.cu_window_seqlens, (Ints{0, 16, 32}));
}

TEST(VisionWindowIndex, TallGridVisitsColumnsOfWindowsInsideEachWindowRow) {
  // 3 x 3 tokens (6 x 6 patches), numbered row-major 0..8, windows of 2 x 2:
  //   0 1 | 2      window (0,0) = 0 1 3 4, (0,1) = 2 5, (1,0) = 6 7, (1,1) = 8
  //   3 4 | 5
  //   ----+--
  //   6 7 | 8
  const auto w = models::qwen2_5_vl_window_index(models::validated_vision_grids({1, 6, 6}, kMerge), kMerge, kWindow, kPatch);
  EXPECT_EQ(w.window_index, (Ints{0, 1, 3, 4, 2, 5, 6, 7, 8}));
  EXPECT_EQ(w.cu_window_seqlens, (Ints{0, 16, 24, 32, 36}));
}

TEST(VisionCuSeqlens, OneSegmentPerFrame) {
  EXPECT_EQ(models::qwen2_5_vl_vision_cu_seqlens(models::validated_vision_grids({1, 4, 6, 2, 2, 2}, kMerge)), (Ints{0, 24, 28, 32}));
}

TEST(VisionPositionIds, PatchesFollowTheMergeBlockOrder) {
  // 2 x 4 patches = two 2 x 2 blocks side by side; (row, col) pairs in processor order.
  EXPECT_EQ(models::qwen2_5_vl_vision_position_ids(models::validated_vision_grids({1, 2, 4}, kMerge), kMerge),
            (Ints{0, 0, 0, 1, 1, 0, 1, 1, 0, 2, 0, 3, 1, 2, 1, 3}));
}

TEST(VisionGrids, OddGridIsRefusedWithTheRowAndValues) {
  try {
    models::validated_vision_grids({1, 4, 6, 1, 3, 4}, kMerge);
    FAIL() << "expected balcap::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 is [1, 3, 4]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos) << e.what();
  }
}

TEST(VisionWindowIndex, WindowSmallerThanAMergedTokenIsRefused) {
  EXPECT_THROW(models::qwen2_5_vl_window_index(models::validated_vision_grids({1, 4, 6}, kMerge), kMerge, 20, kPatch), Error);
}

}  // namespace
}  // namespace balcap
