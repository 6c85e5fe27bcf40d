// Hand-worked checks of the text decoder pieces: M-RoPE position ids on small grids (values worked
// out from HF get_rope_index's rules by hand), mrope_section validation, the KV cache bounds and the
// attention mask helper. Parity with transformers itself is in tests/parity/models_text_decoder_test.cpp.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "io/hf_config.h"
#include "models/attention.h"
#include "models/kv_cache.h"
#include "models/qwen2_5_vl_rope_index.h"
#include "models/rotary.h"

namespace balcap {
namespace {

constexpr int64_t kText = 100, kStart = 151652, kEnd = 151653, kPad = 151655;

at::Tensor ids_of(const std::vector<int64_t>& ids) { return at::tensor(ids, at::kLong).unsqueeze(0); }

std::vector<int64_t> row(const at::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(RopeIndex, OneImageGridFourBySixGetsRowAndColumnPositions) {
  // [text, text, vision_start, 6 image pads (grid [1, 4, 6] merged 2 -> 2 x 3), vision_end, text]
  const auto ids = ids_of({kText, kText, kStart, kPad, kPad, kPad, kPad, kPad, kPad, kEnd, kText});
  const auto grid = at::tensor(std::vector<int64_t>{1, 4, 6}, at::kLong).view({1, 3});
  const auto r = models::qwen2_5_vl_rope_index(ids, grid, {}, io::Qwen2_5_VLConfig{});
  ASSERT_EQ(r.position_ids.sizes(), (std::vector<int64_t>{3, 1, 11}));
  // Image starts at s = 3: T = 3; H = 3 + row; W = 3 + col; the next text position is 3 + max(2, 3) = 6.
  EXPECT_EQ(row(r.position_ids[0]), (std::vector<int64_t>{0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7}));
  EXPECT_EQ(row(r.position_ids[1]), (std::vector<int64_t>{0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7}));
  EXPECT_EQ(row(r.position_ids[2]), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7}));
  EXPECT_EQ(row(r.rope_deltas), (std::vector<int64_t>{7 + 1 - 11}));
}

TEST(RopeIndex, TallImageAdvancesByItsHeightAndPaddingGetsZero) {
  // Left padding of 2, then [vision_start, 2 x 1 merged grid ([1, 4, 2]), vision_end].
  const auto ids = ids_of({0, 0, kStart, kPad, kPad, kEnd});
  const auto mask = at::tensor(std::vector<int64_t>{0, 0, 1, 1, 1, 1}, at::kLong).unsqueeze(0);
  const auto grid = at::tensor(std::vector<int64_t>{1, 4, 2}, at::kLong).view({1, 3});
  const auto r = models::qwen2_5_vl_rope_index(ids, grid, mask, io::Qwen2_5_VLConfig{});
  EXPECT_EQ(row(r.position_ids[0]), (std::vector<int64_t>{0, 0, 0, 1, 1, 3}));
  EXPECT_EQ(row(r.position_ids[1]), (std::vector<int64_t>{0, 0, 0, 1, 2, 3}));
  EXPECT_EQ(row(r.position_ids[2]), (std::vector<int64_t>{0, 0, 0, 1, 1, 3}));
  EXPECT_EQ(row(r.rope_deltas), (std::vector<int64_t>{3 + 1 - 4}));  // unpadded length 4, as HF v5
}

TEST(RopeIndex, TextOnlyPromptIsPlainPositionsWithZeroDelta) {
  const auto r = models::qwen2_5_vl_rope_index(ids_of({kText, kText, kText}), {}, {}, io::Qwen2_5_VLConfig{});
  for (int a = 0; a < 3; ++a) EXPECT_EQ(row(r.position_ids[a]), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(row(r.rope_deltas), (std::vector<int64_t>{0}));
}

TEST(RopeIndex, PadCountThatDoesNotMatchTheGridNamesBothNumbers) {
  const auto grid = at::tensor(std::vector<int64_t>{1, 4, 6}, at::kLong).view({1, 3});
  try {
    models::qwen2_5_vl_rope_index(ids_of({kStart, kPad, kPad, kEnd}), grid, {}, io::Qwen2_5_VLConfig{});
    FAIL() << "expected balcap::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 <|image_pad|> tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("needs 6"), std::string::npos) << e.what();
  }
}

TEST(RopeIndex, VideoTokensAndMissingOrExtraGridsAreRejected) {
  const auto grid = at::tensor(std::vector<int64_t>{1, 2, 2}, at::kLong).view({1, 3});
  EXPECT_THROW(models::qwen2_5_vl_rope_index(ids_of({kStart, 151656, kEnd}), {}, {}, io::Qwen2_5_VLConfig{}), Error);
  EXPECT_THROW(models::qwen2_5_vl_rope_index(ids_of({kStart, kPad, kEnd}), {}, {}, io::Qwen2_5_VLConfig{}), Error);
  EXPECT_THROW(models::qwen2_5_vl_rope_index(ids_of({kText, kText}), grid, {}, io::Qwen2_5_VLConfig{}), Error);
}

TEST(RopeIndex, DecodePositionsAddTheDeltaToTheCacheIndex) {
  const auto deltas = at::tensor(std::vector<int64_t>{-3, 5}, at::kLong).view({2, 1});
  const auto pos = models::qwen2_5_vl_decode_position_ids(deltas, 11, 2);
  ASSERT_EQ(pos.sizes(), (std::vector<int64_t>{3, 2, 2}));
  for (int a = 0; a < 3; ++a) {
    EXPECT_EQ(row(pos[a][0]), (std::vector<int64_t>{8, 9}));
    EXPECT_EQ(row(pos[a][1]), (std::vector<int64_t>{16, 17}));
  }
}

TEST(Rotary, MropeSectionMustSumToHalfTheHeadDim) {
  EXPECT_NO_THROW(models::check_mrope_section({16, 24, 24}, 128));
  EXPECT_THROW(models::check_mrope_section({16, 24, 16}, 128), Error);
  EXPECT_THROW(models::check_mrope_section({32, 32}, 128), Error);
  EXPECT_THROW(models::check_mrope_section({-8, 40, 32}, 128), Error);
  EXPECT_THROW(models::rope_inv_freq(15, 10000.0), Error);
}

TEST(Rotary, MropeChannelsTakeTheirAxisPerSection) {
  // Distinct positions per axis: T = 1, H = 2, W = 3. With section [1, 1, 2] (head_dim 8), channel f of
  // the half takes T for f < 1, H for f < 2, W otherwise; angle = pos * inv_freq[f].
  const auto pos = at::tensor(std::vector<int64_t>{1, 2, 3}, at::kLong).view({3, 1, 1});
  const auto inv = models::rope_inv_freq(8, 10000.0);
  const auto [cos, sin] = models::mrope_cos_sin(pos, inv, {1, 1, 2}, at::kFloat);
  const std::vector<int64_t> axis_pos{1, 2, 3, 3};
  for (int64_t f = 0; f < 4; ++f) {
    const double angle = static_cast<double>(axis_pos[f]) * inv[f].item<double>();
    EXPECT_NEAR(sin[0][0][f].item<double>(), std::sin(angle), 1e-6) << f;
    EXPECT_NEAR(sin[0][0][f + 4].item<double>(), std::sin(angle), 1e-6) << f;
    EXPECT_NEAR(cos[0][0][f].item<double>(), std::cos(angle), 1e-6) << f;
  }
}

TEST(KvCache, WritesByPositionAndRefusesPositionsPastItsLength) {
  models::KvCache cache(2, 1, 2, 4, 3, at::kFloat);
  const auto k = at::ones({1, 2, 3, 3});
  const auto [keys, values] = cache.update(1, k, 2 * k, 0);
  EXPECT_EQ(keys.sizes(), (std::vector<int64_t>{1, 2, 3, 3}));
  const auto [keys2, values2] = cache.update(1, 3 * at::ones({1, 2, 1, 3}), at::ones({1, 2, 1, 3}), 3);
  EXPECT_EQ(keys2.size(2), 4);
  EXPECT_EQ(keys2[0][0][3][0].item<float>(), 3.0f);
  EXPECT_EQ(values2[0][0][1][0].item<float>(), 2.0f);
  EXPECT_THROW(cache.update(1, k, k, 2), Error);                                            // [2, 5) > 4
  EXPECT_THROW(cache.update(2, k, k, 0), Error);                                            // no layer 2
  EXPECT_THROW(cache.update(0, at::ones({1, 3, 1, 3}), at::ones({1, 3, 1, 3}), 0), Error);  // 3 kv heads
}

TEST(KvCache, WritesAtADeviceIndexAndReturnsTheWholeStorage) {
  models::KvCache cache(1, 2, 1, 5, 2, at::kFloat);
  const auto [keys, values] = cache.update_at(0, at::ones({2, 1, 1, 2}), 2 * at::ones({2, 1, 1, 2}),
                                              at::full({1}, 3, at::kLong));
  EXPECT_EQ(keys.sizes(), (std::vector<int64_t>{2, 1, 5, 2}));
  EXPECT_EQ(keys.sum().item<float>(), 4.0f);  // only slot 3 of both rows was written
  EXPECT_EQ(keys[1][0][3][1].item<float>(), 1.0f);
  EXPECT_EQ(values[0][0][3][0].item<float>(), 2.0f);
  EXPECT_THROW(cache.update_at(0, at::ones({2, 1, 2, 2}), at::ones({2, 1, 2, 2}), at::zeros({1}, at::kLong)),
               Error);  // one token per row only
  EXPECT_THROW(cache.update_at(1, at::ones({2, 1, 1, 2}), at::ones({2, 1, 1, 2}), at::zeros({1}, at::kLong)), Error);
}

TEST(AttentionMask, PaddedKeysAreHiddenAndEveryQuerySeesItself) {
  const auto padding = at::tensor(std::vector<int64_t>{0, 1, 1}, at::kLong).unsqueeze(0);
  const auto m = models::attention_mask_for(padding, 3, 0);  // [1, 1, 3, 3]
  // Query 0 is padding: it sees only itself. Queries 1, 2 see the real keys up to themselves.
  const auto expected = at::tensor(std::vector<int64_t>{1, 0, 0, 0, 1, 0, 0, 1, 1}, at::kLong);
  EXPECT_TRUE(at::equal(m.reshape({9}).to(at::kLong), expected)) << m;
}

}  // namespace
}  // namespace balcap
