// The head's fused softmax rows (float32, CPU) against ATen's float64 log_softmax and autograd.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "models/softmax_rows.h"
#include "core/error.h"
#include "support/max_abs_diff.h"

namespace balcap {
namespace {

constexpr double kTemperature = 0.7;

// 5 rows of 1003 logits (not a multiple of the 8 lanes: the tail path runs), |z| up to ~15, with
// a few -inf entries (blocked tokens) in row 1.
at::Tensor logits() {
  at::manual_seed(7);
  at::Tensor z = at::randn({5, 1003}) * 4;
  z[1].narrow(0, 10, 3).fill_(-std::numeric_limits<float>::infinity());
  return z;
}

at::Tensor targets() { return at::tensor({3L, 500L, 1002L, 0L, 999L}); }

using test::max_abs_diff;

TEST(SoftmaxRows, StatisticsMatchFloat64LogSoftmax) {
  at::Tensor z = logits();
  const at::Tensor x = z.to(at::kDouble) / kTemperature;
  const at::Tensor logp = x.log_softmax(-1);
  const at::Tensor p = logp.exp();
  const at::Tensor ref_entropy = -(p * logp.masked_fill(p == 0, 0)).sum(-1);
  const models::SoftmaxRowStats s = models::softmax_row_stats(z, targets(), kTemperature, true, false);
  EXPECT_LT(max_abs_diff(s.logprob, logp.gather(1, targets().unsqueeze(1)).squeeze(1)), 1e-5);
  EXPECT_LT(max_abs_diff(s.shift + s.log_mass, x.logsumexp(-1)), 1e-5);
  EXPECT_LT(max_abs_diff(s.entropy, ref_entropy), 1e-5);
  EXPECT_TRUE(at::equal(z, logits())) << "without to_exp the logits are left as they were";
}

TEST(SoftmaxRows, ToExpLeavesTheUnnormalisedProbabilitiesWithinAnUlpOrTwo) {
  at::Tensor z = logits();
  const models::SoftmaxRowStats s = models::softmax_row_stats(z, targets(), kTemperature, false, true);
  const at::Tensor ref = (logits().to(at::kDouble) / kTemperature - s.shift.to(at::kDouble).unsqueeze(1)).exp();
  // The argument z * (1 / T) - m (|z / T| up to ~22 here) is itself rounded in float32: half an
  // ulp of 22 (1e-6) for the product, and 1 / T's own rounding times |z| (~1.3e-6), whether or not
  // the compiler fuses the multiply and subtract. That, not the exp's own <= 1 ulp, bounds the
  // error (absolute, as e <= 1, and relative). A wrong polynomial or exponent is off by 1e-3 or more.
  EXPECT_LT(max_abs_diff(z, ref), 3e-6);
  const at::Tensor big = ref > 1e-30;
  EXPECT_LT(((z.to(at::kDouble) - ref).abs() / ref).masked_select(big).max().item<double>(), 6e-6);
  EXPECT_EQ(z[1].narrow(0, 10, 3).count_nonzero().item<int64_t>(), 0) << "exp(-inf) must be exactly 0";
  EXPECT_FALSE(s.entropy.defined());
}

TEST(SoftmaxRows, GradientMatchesFloat64AutogradOfLogprobAndEntropyTerms) {
  at::manual_seed(3);
  const at::Tensor a = at::randn({5}), b = at::randn({5});
  const at::Tensor z64 = logits().to(at::kDouble).requires_grad_(true);
  const at::Tensor logp = (z64 / kTemperature).log_softmax(-1);
  const at::Tensor entropy = -(logp.exp() * logp.masked_fill(logp.isinf(), 0)).sum(-1);
  const at::Tensor loss = (a.to(at::kDouble) * logp.gather(1, targets().unsqueeze(1)).squeeze(1)).sum() +
                          (b.to(at::kDouble) * entropy).sum();
  loss.backward();
  const at::Tensor ref = z64.grad();

  at::Tensor z = logits();
  const models::SoftmaxRowStats s = models::softmax_row_stats(z, targets(), kTemperature, true, false);
  models::softmax_logits_grad_(z, targets(), kTemperature, s, a, b);
  EXPECT_LT(max_abs_diff(z, ref), 1e-5 * std::max(1.0, ref.abs().max().item<double>()));
  EXPECT_EQ(z[1].narrow(0, 10, 3).count_nonzero().item<int64_t>(), 0) << "a blocked token gets no gradient";
}

TEST(SoftmaxRows, GradientOfTheLogprobAloneIsOnehotMinusSoftmax) {
  const at::Tensor a = at::tensor({1.0f, -2.0f, 0.5f, 0.0f, 3.0f});
  at::Tensor z = logits();
  const models::SoftmaxRowStats s = models::softmax_row_stats(z, targets(), kTemperature, false, false);
  models::softmax_logits_grad_(z, targets(), kTemperature, s, a, at::Tensor());
  const at::Tensor p = (logits().to(at::kDouble) / kTemperature).softmax(-1);
  const at::Tensor onehot = at::zeros_like(p).scatter_(1, targets().unsqueeze(1), 1.0);
  const at::Tensor ref = (onehot - p) * a.to(at::kDouble).unsqueeze(1) / kTemperature;
  EXPECT_LT(max_abs_diff(z, ref), 1e-6);
}

TEST(SoftmaxRows, BlockMassesMatchFloat64ExpSumsPerBlock) {
  // 1003 columns in blocks of 64: 15 whole blocks and a partial one of 43 (not a multiple of 8).
  const at::Tensor z = logits();
  const models::SoftmaxBlockMasses m = models::softmax_block_masses(z, kTemperature, 64);
  const at::Tensor x = z.to(at::kDouble) / kTemperature;
  const at::Tensor top = x.amax(-1, /*keepdim=*/true);
  const at::Tensor e = at::constant_pad_nd((x - top).exp(), {0, 16 * 64 - 1003});
  const at::Tensor ref = e.view({5, 16, 64}).sum(-1);
  ASSERT_EQ(m.mass.sizes(), ref.sizes());
  EXPECT_LT(max_abs_diff(m.shift, top), 1e-5);
  EXPECT_LT(max_abs_diff(m.mass, ref), 1e-5 * ref.max().item<double>());
  EXPECT_TRUE(at::equal(z, logits())) << "the logits are only read";
}

TEST(SoftmaxRows, RefusesWhatItCannotTakeWithAHint) {
  at::Tensor half = logits().to(at::kHalf);
  EXPECT_FALSE(models::softmax_rows_apply(half));
  EXPECT_FALSE(models::softmax_rows_apply(logits().t()));
  EXPECT_TRUE(models::softmax_rows_apply(logits()));
  try {
    models::softmax_row_stats(half, targets(), 1.0, false, false);
    FAIL() << "a float16 block was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos) << e.what();
  }
  at::Tensor z = logits();
  try {
    models::softmax_row_stats(z, at::tensor({3L, 500L, 1003L, 0L, 999L}), 1.0, false, false);
    FAIL() << "a target past the vocabulary was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target id 1003"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace balcap
