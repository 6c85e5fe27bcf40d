// The output head's logits without autograd (XNNPACK's packed GEMM on the CPU) against at::linear.
#include <gtest/gtest.h>

#include "models/head_projection.h"
#include "support/max_abs_diff.h"

namespace balcap {
namespace {

using test::max_abs_diff;

TEST(HeadProjection, Float32OnTheCpuTakesThePackedGemm) {
  EXPECT_TRUE(models::head_logits_packed(at::randn({1000, 24})));
  EXPECT_FALSE(models::head_logits_packed(at::randn({1000, 24}).to(at::kBFloat16)));
  EXPECT_FALSE(models::head_logits_packed(at::randn({24, 1000}).t()));
}

TEST(HeadProjection, LogitsMatchALinearLayerInFloat64) {
  at::manual_seed(5);
  // A trainable head (requires grad), as the policy's is.
  const at::Tensor weight = at::randn({1003, 24}).requires_grad_(true), hidden = at::randn({2, 7, 24});
  const at::Tensor ref = at::linear(hidden.to(at::kDouble), weight.detach().to(at::kDouble));
  const at::Tensor z = models::head_logits(hidden, weight);
  ASSERT_EQ(z.sizes(), ref.sizes());
  EXPECT_LT(max_abs_diff(z, ref), 1e-5 * ref.abs().max().item<double>());
  EXPECT_FALSE(z.requires_grad());
  EXPECT_TRUE(models::head_logits_packed(weight)) << "XNNPACK refused the weight (head_logits fell back)";
}

TEST(HeadProjection, AnUpdatedWeightIsPackedAgain) {
  // The packed copy is reused while the weight is unchanged and dropped when an in-place update
  // (an optimizer step) moves its version counter.
  at::Tensor weight = at::randn({600, 16});
  const at::Tensor hidden = at::randn({3, 16});
  const at::Tensor before = models::head_logits(hidden, weight);
  EXPECT_TRUE(at::equal(models::head_logits(hidden, weight), before));
  weight.mul_(2);
  EXPECT_LT(max_abs_diff(models::head_logits(hidden, weight), at::linear(hidden, weight)), 1e-4);
  EXPECT_LT(max_abs_diff(models::head_logits(hidden, weight), before * 2), 1e-4);
}

TEST(HeadProjection, TheLossReusesTheRolloutsPackingButNeverPacksItself) {
  const at::Tensor weight = at::randn({700, 64}), hidden = at::randn({5, 64});
  EXPECT_TRUE(at::equal(models::head_logits(hidden, weight, models::HeadPacking::reuse), at::linear(hidden, weight)))
      << "nothing packed yet: the plain GEMM";
  const at::Tensor packed = models::head_logits(hidden, weight, models::HeadPacking::pack);
  EXPECT_TRUE(at::equal(models::head_logits(hidden, weight, models::HeadPacking::reuse), packed));
}

TEST(HeadProjection, ProjectHeadKeepsAutogradWhenAGradientCanFlow) {
  const at::Tensor weight = at::randn({50, 8}).requires_grad_(true), hidden = at::randn({2, 8});
  const at::Tensor z = models::project_head(hidden, weight);
  EXPECT_TRUE(z.requires_grad());
  z.sum().backward();
  EXPECT_LT(max_abs_diff(weight.grad(), hidden.sum(0).expand({50, 8})), 1e-5);
}

}  // namespace
}  // namespace balcap
