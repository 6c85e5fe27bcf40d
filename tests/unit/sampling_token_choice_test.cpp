// Hand-worked checks of the counter RNG, the token choice and the sampling parameters.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "sampling/counter_rng.h"
#include "sampling/sampler.h"
#include "sampling/token_choice.h"

namespace balcap::sampling {
namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

TEST(CounterRng, SplitmixMatchesThePublishedSeedZeroSequence) {
  // splitmix64 seeded with 0 (the xoshiro reference seeding): outputs 1..3.
  EXPECT_EQ(splitmix64_mix(kGolden), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(splitmix64_mix(2 * kGolden), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(splitmix64_mix(3 * kGolden), 0x06C45D188009454FULL);
}

TEST(CounterRng, TensorUniformsEqualTheHostUniformsBitForBit) {
  std::vector<uint64_t> keys{0, 1, kGolden, ~0ULL, 0x8000000000000000ULL, row_key(7, 3, 1, 123, 4)};
  std::vector<int64_t> signed_keys(keys.begin(), keys.end());
  const at::Tensor tensor_keys = at::tensor(signed_keys, at::kLong);
  const at::Tensor index = at::tensor(std::vector<int64_t>{0, 1, 5, 151935}).view({1, 4});
  for (int64_t t : {0, 1, 17, 255}) {
    const at::Tensor steps = step_keys(tensor_keys, t);
    const at::Tensor u = counter_uniforms(steps, index);  // [6, 4]
    for (size_t i = 0; i < keys.size(); ++i) {
      const uint64_t k = step_key(keys[i], t);
      EXPECT_EQ(static_cast<uint64_t>(steps[i].item<int64_t>()), k) << "key " << i << " t " << t;
      for (int64_t j = 0; j < 4; ++j) {
        const float v = u[i][j].item<float>();
        EXPECT_EQ(v, counter_uniform(k, index[0][j].item<int64_t>())) << "key " << i << " t " << t;
        EXPECT_GT(v, 0.0f);
        EXPECT_LT(v, 1.0f);
      }
    }
  }
}

TEST(CounterRng, RowKeysDifferInEveryPart) {
  const uint64_t base = row_key(1, 2, 3, 4, 5);
  EXPECT_NE(base, row_key(0, 2, 3, 4, 5));
  EXPECT_NE(base, row_key(1, 3, 3, 4, 5));
  EXPECT_NE(base, row_key(1, 2, 4, 4, 5));
  EXPECT_NE(base, row_key(1, 2, 3, 5, 5));
  EXPECT_NE(base, row_key(1, 2, 3, 4, 6));
  EXPECT_EQ(base, row_key(1, 2, 3, 4, 5));
}

// n draws of `logits` [1, V] (row keys 0..n-1, step 0) -> counts per token.
std::vector<int64_t> draw_counts(const at::Tensor& logits, int64_t n, const WarpSettings& warp = {}) {
  const at::Tensor keys = step_keys(at::arange(n, at::kLong), 0);
  const TokenChoice c = choose_sampled(logits.expand({n, -1}).contiguous(), keys, warp);
  const at::Tensor counts = at::bincount(c.tokens, {}, logits.size(1));
  return std::vector<int64_t>(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
}

TEST(TokenChoice, TwoStageDrawsFollowTheDistributionAcrossBlocks) {
  // 1200 tokens (3 blocks of 512, the last partial): mass 0.5 on token 7, 0.3 on 900, 0.2 on 1100.
  at::Tensor logits = at::full({1, 1200}, -1e9f);
  logits[0][7] = std::log(0.5f);
  logits[0][900] = std::log(0.3f);
  logits[0][1100] = std::log(0.2f);
  const int64_t n = 20000;
  const auto counts = draw_counts(logits, n);
  EXPECT_EQ(counts[7] + counts[900] + counts[1100], n);
  // 5 standard deviations of a binomial count.
  EXPECT_NEAR(counts[7], 0.5 * n, 5 * std::sqrt(n * 0.25));
  EXPECT_NEAR(counts[900], 0.3 * n, 5 * std::sqrt(n * 0.21));
  EXPECT_NEAR(counts[1100], 0.2 * n, 5 * std::sqrt(n * 0.16));
  const TokenChoice c = choose_sampled(logits.expand({3, -1}).contiguous(), step_keys(at::arange(3, at::kLong), 0), {});
  for (int i = 0; i < 3; ++i) {
    const int64_t token = c.tokens[i].item<int64_t>();
    const double p = token == 7 ? 0.5 : token == 900 ? 0.3 : 0.2;
    EXPECT_NEAR(c.logprobs[i].item<float>(), std::log(p), 1e-5);
  }
}

TEST(TokenChoice, TemperedDrawsFollowTheTemperedDistribution) {
  // T = 2 over masses 0.5 / 0.3 / 0.2: p ~ sqrt(mass) = 0.4155 / 0.3218 / 0.2628.
  at::Tensor logits = at::full({1, 1200}, -1e9f);
  logits[0][7] = std::log(0.5f);
  logits[0][900] = std::log(0.3f);
  logits[0][1100] = std::log(0.2f);
  const double norm = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.2);
  const int64_t n = 20000;
  const auto counts = draw_counts(logits, n, {2.0, 0, 1.0});
  for (const auto& [token, mass] : {std::pair{7, 0.5}, std::pair{900, 0.3}, std::pair{1100, 0.2}}) {
    const double p = std::sqrt(mass) / norm;
    EXPECT_NEAR(counts[token], p * n, 5 * std::sqrt(n * p * (1 - p))) << "token " << token;
  }
  const TokenChoice c = choose_sampled(logits, step_keys(at::zeros({1}, at::kLong), 0), {2.0, 0, 1.0});
  const int64_t token = c.tokens[0].item<int64_t>();
  const double mass = token == 7 ? 0.5 : token == 900 ? 0.3 : 0.2;
  EXPECT_NEAR(c.logprobs[0].item<float>(), std::log(std::sqrt(mass) / norm), 1e-5);
}

TEST(TokenChoice, RoundingSizedLogitChangesAlmostNeverChangeTheDraw) {
  // A flat-ish distribution over the Qwen vocabulary (where an inverse CDF would flip often).
  const int64_t n = 64;
  const at::Tensor logits = at::randn({1, 151936}, at::TensorOptions().dtype(at::kFloat)).expand({n, -1}).contiguous();
  const at::Tensor nudged = logits * (1 + 1e-6f);
  const at::Tensor keys = step_keys(at::arange(n, at::kLong), 3);
  const at::Tensor a = choose_sampled(logits, keys, {}).tokens, b = choose_sampled(nudged, keys, {}).tokens;
  EXPECT_LE(a.ne(b).sum().item<int64_t>(), 1);
}

TEST(TokenChoice, TopPKeepsTheSmallestSetWithTheMassAndRenormalises) {
  // [0.5, 0.3, 0.15, 0.05], top_p 0.8: mass before token 2 is 0.8 (not < 0.8) -> keep {0, 1}.
  const at::Tensor logits = at::tensor({0.5f, 0.3f, 0.15f, 0.05f}).log().view({1, 4});
  const at::Tensor logp = warped_log_probs(logits, {1.0, 0, 0.8});
  EXPECT_NEAR(logp[0][0].item<float>(), std::log(0.5 / 0.8), 1e-6);
  EXPECT_NEAR(logp[0][1].item<float>(), std::log(0.3 / 0.8), 1e-6);
  EXPECT_TRUE(std::isinf(logp[0][2].item<float>()));
  const auto counts = draw_counts(logits, 4000, {1.0, 0, 0.8});
  EXPECT_EQ(counts[2] + counts[3], 0);
  EXPECT_NEAR(counts[1], 4000 * 0.375, 5 * std::sqrt(4000 * 0.375 * 0.625));
}

TEST(TokenChoice, TemperatureThenTopKRenormaliseOverTheKLargest) {
  const at::Tensor logits = at::tensor({1.0f, 3.0f, 2.0f, 0.0f}).view({1, 4});
  const at::Tensor logp = warped_log_probs(logits, {2.0, 2, 1.0});  // scores / 2 = [0.5, 1.5, 1, 0]
  const double z = std::log(std::exp(1.5) + std::exp(1.0));
  EXPECT_NEAR(logp[0][1].item<float>(), 1.5 - z, 1e-6);
  EXPECT_NEAR(logp[0][2].item<float>(), 1.0 - z, 1e-6);
  EXPECT_TRUE(std::isinf(logp[0][0].item<float>()) && std::isinf(logp[0][3].item<float>()));
  const auto counts = draw_counts(logits, 4000, {2.0, 2, 1.0});
  EXPECT_EQ(counts[0] + counts[3], 0);
  const double p2 = std::exp(1.0 - z);
  EXPECT_NEAR(counts[2], 4000 * p2, 5 * std::sqrt(4000 * p2 * (1 - p2)));
}

TEST(TokenChoice, BlockedTokensAreNeverDrawn) {
  at::Tensor logits = at::tensor({0.5f, 0.3f, 0.2f}).log().view({1, 3});
  block_tokens(logits, at::tensor(std::vector<int64_t>{0}));
  const auto counts = draw_counts(logits, 2000);
  EXPECT_EQ(counts[0], 0);
  const TokenChoice c = choose_sampled(logits, step_keys(at::zeros({1}, at::kLong), 0), {});
  const double p = c.tokens[0].item<int64_t>() == 1 ? 0.3 / 0.5 : 0.2 / 0.5;
  EXPECT_NEAR(c.logprobs[0].item<float>(), std::log(p), 1e-6);
}

TEST(TokenChoice, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOnce) {
  at::Tensor logits = at::tensor({2.0f, -1.0f, 3.0f}).view({1, 3});
  apply_repetition_penalty(logits, at::tensor(std::vector<int64_t>{0, 1, 0}).view({1, 3}), 2.0);
  EXPECT_FLOAT_EQ(logits[0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(logits[0][1].item<float>(), -2.0f);
  EXPECT_FLOAT_EQ(logits[0][2].item<float>(), 3.0f);
}

TEST(TokenChoice, GreedyTakesTheArgmaxWithItsLogSoftmax) {
  const TokenChoice c = choose_greedy(at::tensor({0.2f, 0.5f, 0.3f}).log().view({1, 3}));
  EXPECT_EQ(c.tokens[0].item<int64_t>(), 1);
  EXPECT_NEAR(c.logprobs[0].item<float>(), std::log(0.5), 1e-6);
}

TEST(SamplingParams, StopIdsJoinTheConfigAndGenerationConfigWithoutDuplicates) {
  config::SamplingConfig config;
  config.stop_token_ids = {7, 151645};
  config.temperature = 0.8;
  io::GenerationConfig generation;
  generation.eos_token_ids = {151645, 151643};
  generation.temperature = 0.1;  // the run config decides the sampling controls
  SamplingParams p = sampling_params_from(config, generation, 4);
  EXPECT_EQ(p.stop_ids, (std::vector<int64_t>{7, 151643, 151645}));
  EXPECT_EQ(p.group_size, 4);
  EXPECT_DOUBLE_EQ(p.temperature, 0.8);
  config.generation_config_stops = false;
  EXPECT_EQ(sampling_params_from(config, generation, 1).stop_ids, (std::vector<int64_t>{7, 151645}));
}

TEST(SamplingParams, OutOfRangeControlsNameTheField) {
  SamplingParams p;
  p.top_p = 1.5;
  try {
    validate(p);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p = 1.5"), std::string::npos) << e.what();
  }
  p = {};
  p.group_size = 0;
  EXPECT_THROW(validate(p), Error);
}

}  // namespace
}  // namespace balcap::sampling
