// Decode attention over a shared prompt prefix (prefix_attention.h) against plain attention
// (torch's SDPA, float64) over each row's prompt followed by its own keys, in one sequence.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "models/kv_cache.h"
#include "models/prefix_attention.h"

namespace balcap {
namespace {

constexpr int64_t kHeads = 4, kKvHeads = 2, kDim = 8, kGroup = 3, kRowKeys = 4;

// Two prompts of 5 and 3 tokens (right-padded to 5 with garbage the mask must hide), G = 3 rows
// each, every row with 4 keys of its own; the last row key is hidden by the row mask.
struct Case {
  std::vector<int64_t> prompt_lengths{5, 3};
  at::Tensor prompt_keys = at::randn({2, kKvHeads, 5, kDim}, at::kDouble);
  at::Tensor prompt_values = at::randn({2, kKvHeads, 5, kDim}, at::kDouble);
  at::Tensor row_keys = at::randn({6, kKvHeads, kRowKeys, kDim}, at::kDouble);
  at::Tensor row_values = at::randn({6, kKvHeads, kRowKeys, kDim}, at::kDouble);
  at::Tensor row_mask = at::tensor(std::vector<int64_t>{1, 1, 1, 0}).to(at::kBool).expand({6, kRowKeys}).contiguous();
  at::Tensor q = at::randn({6, kHeads, 1, kDim}, at::kDouble);

  // A one-layer cache of the 6 rows' own keys with the two prompts as its shared prefix.
  models::KvCache cache() const {
    models::KvCache c(1, 6, kKvHeads, kRowKeys, kDim, at::kDouble);
    c.update(0, row_keys, row_values, 0);
    models::SharedPrefix p;
    p.keys = {prompt_keys.clone()};
    p.values = {prompt_values.clone()};
    p.key_mask = at::arange(5).unsqueeze(0) < at::tensor(prompt_lengths).unsqueeze(1);
    p.group = kGroup;
    c.set_prefix(std::move(p));
    return c;
  }

  // Plain attention of row n: keys = its prompt (unpadded) then its visible own keys. -> [H * D]
  at::Tensor reference(int64_t n) const {
    const int64_t prompt = n / kGroup, L = prompt_lengths[prompt];
    const auto keys = at::cat({prompt_keys[prompt].narrow(1, 0, L), row_keys[n].narrow(1, 0, kRowKeys - 1)}, 1);
    const auto values = at::cat({prompt_values[prompt].narrow(1, 0, L), row_values[n].narrow(1, 0, kRowKeys - 1)}, 1);
    const auto out = at::scaled_dot_product_attention(q[n].unsqueeze(0), keys.unsqueeze(0), values.unsqueeze(0), {},
                                                      0.0, false, 1.0 / std::sqrt(kDim), /*enable_gqa=*/true);
    return out.reshape({kHeads * kDim});
  }
};

double scale() { return 1.0 / std::sqrt(static_cast<double>(kDim)); }

TEST(PrefixAttention, EveryRowEqualsPlainAttentionOverItsPromptThenItsOwnKeys) {
  const Case c;
  models::KvCache cache = c.cache();
  const auto out = models::prefix_attention(c.q, cache.keys(0), cache.values(0), c.row_mask, *cache.prefix(), 0, scale());
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{6, 1, kHeads * kDim}));
  for (int64_t n = 0; n < 6; ++n) {
    EXPECT_LE((out[n][0] - c.reference(n)).abs().max().item<double>(), 1e-12) << "row " << n;
  }
}

// Keeps rows `keep` of the case's cache (KvCache::select_rows) -> how many prompts the prefix still
// holds; every kept row's attention must still equal its plain-attention reference.
int64_t prompts_after_keeping(const Case& c, const std::vector<int64_t>& kept) {
  models::KvCache cache = c.cache();
  const auto keep = at::tensor(kept);
  cache.select_rows(keep);
  const auto out = models::prefix_attention(c.q.index_select(0, keep), cache.keys(0), cache.values(0),
                                    c.row_mask.index_select(0, keep), *cache.prefix(), 0, scale());
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_LE((out[i][0] - c.reference(kept[i])).abs().max().item<double>(), 1e-12) << "row " << kept[i];
  }
  EXPECT_EQ(cache.prefix()->keys[0].size(0), cache.prefix()->prompts());
  return cache.prefix()->prompts();
}

TEST(PrefixAttention, CompactedRowsKeepTheirPromptAndAPromptNoRowReadsIsDropped) {
  // Rows 5, 3, 4 (prompt 1's group, reordered) survive: prompt 0 has no reader left.
  EXPECT_EQ(prompts_after_keeping(Case(), {5, 3, 4}), 1);
}

TEST(PrefixAttention, RowsOfBothPromptsSurviveACompactionInAnyOrder) {
  EXPECT_EQ(prompts_after_keeping(Case(), {4, 0, 2}), 2);
}

TEST(PrefixAttention, APrefixThatDoesNotFitTheCacheIsRefusedWithTheExpectedShape) {
  models::KvCache cache(1, 6, kKvHeads, kRowKeys, kDim, at::kDouble);
  models::SharedPrefix p;
  p.keys = {at::zeros({2, kKvHeads, 5, kDim + 1}, at::kDouble)};
  p.values = p.keys;
  p.key_mask = at::ones({2, 5}, at::kBool);
  p.group = kGroup;
  try {
    cache.set_prefix(p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 2, 5, 8]"), std::string::npos) << e.what();
  }
  p.keys = {at::zeros({2, kKvHeads, 5, kDim}, at::kDouble)};
  p.values = p.keys;
  p.group = 2;  // 2 prompts x 2 slots != 6 rows
  EXPECT_THROW(cache.set_prefix(p), Error);
}

}  // namespace
}  // namespace balcap
