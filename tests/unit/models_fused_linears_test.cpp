// q/k/v (and gate/up) as one GEMM for inference (fused_linears.h): the same outputs as the separate
// layers, updates of the layers' own parameters seen by the fused forward, and a fall-back when a
// parameter is re-seated.
#include <gtest/gtest.h>

#include "models/attention.h"
#include "models/fused_linears.h"

namespace balcap {
namespace {

torch::nn::Linear linear(int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out)); }

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Two layers of one input width (8 -> 6 and 8 -> 2), fused, seeded.
struct TwoFused {
  explicit TwoFused(uint64_t seed) {
    torch::manual_seed(seed);
    parts = {linear(8, 6), linear(8, 2)};
    fused.fuse(parts);
  }
  std::vector<torch::nn::Linear> parts;
  models::FusedLinears fused;
};

TEST(FusedLinears, OneGemmGivesEachLayersOutput) {
  torch::manual_seed(0);
  std::vector<torch::nn::Linear> parts{linear(16, 12), linear(16, 4), linear(16, 4)};
  const at::Tensor x = at::randn({3, 5, 16});
  std::vector<at::Tensor> expected;
  for (auto& p : parts) expected.push_back(p->forward(x).detach());
  models::FusedLinears fused;
  fused.fuse(parts);
  ASSERT_TRUE(fused.fused());
  torch::NoGradGuard no_grad;
  const auto out = fused.forward(x);
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].sizes(), expected[i].sizes());
    EXPECT_LE(max_diff(out[i], expected[i]), 1e-5) << "part " << i;
    EXPECT_LE(max_diff(parts[i]->forward(x), expected[i]), 1e-6) << "the layer itself still works, part " << i;
  }
}

TEST(FusedLinears, InPlaceUpdatesOfALayersWeightReachTheFusedForward) {
  auto [parts, fused] = TwoFused(1);
  torch::NoGradGuard no_grad;
  parts[1]->weight.add_(1.0);  // what an optimizer step or a checkpoint load (copy_) does
  parts[0]->bias.mul_(-2.0);
  const at::Tensor x = at::randn({4, 8});
  const auto out = fused.forward(x);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_LE(max_diff(out[0], parts[0]->forward(x)), 1e-5);
  EXPECT_LE(max_diff(out[1], parts[1]->forward(x)), 1e-5);
  EXPECT_TRUE(parts[0]->weight.requires_grad());  // still the trainable leaves they were
}

TEST(FusedLinears, AReseatedParameterTurnsTheFusedPathOff) {
  auto [parts, fused] = TwoFused(2);
  torch::NoGradGuard no_grad;
  parts[0]->weight.set_data(at::randn({6, 8}));  // e.g. a loader that replaces the tensor
  EXPECT_TRUE(fused.forward(at::randn({4, 8})).empty());
  EXPECT_FALSE(fused.fused());  // the stale copy is freed
}

TEST(FusedLinears, LayersOfDifferentInputWidthsAreLeftAlone) {
  std::vector<torch::nn::Linear> parts{linear(8, 6), linear(4, 2)};
  models::FusedLinears fused;
  fused.fuse(parts);
  EXPECT_FALSE(fused.fused());
  EXPECT_TRUE(fused.forward(at::randn({1, 8})).empty());
}

// An attention layer in eval mode without grad uses the fused q/k/v; in training mode (and after
// its k_proj is re-seated) the separate projections: all three give the same output.
TEST(FusedLinears, AttentionOutputIsTheSameFusedUnfusedAndAfterFallBack) {
  torch::manual_seed(3);
  models::AttentionOptions o;
  o.hidden_size = 32;
  o.num_heads = 4;
  o.num_kv_heads = 2;
  o.head_dim = 8;
  o.qkv_bias = true;
  models::Attention attention(o);
  const at::Tensor x = at::randn({2, 5, 32});
  const at::Tensor cos = at::ones({2, 5, 8}), sin = at::zeros({2, 5, 8});
  attention->train();
  const at::Tensor separate = attention->forward(x, cos, sin).detach();
  models::fuse_inference_projections(*attention);
  ASSERT_TRUE(attention->qkv_fused.fused());
  attention->eval();
  torch::NoGradGuard no_grad;
  EXPECT_LE(max_diff(attention->forward(x, cos, sin), separate), 1e-5);
  attention->k_proj->weight.set_data(attention->k_proj->weight.clone());
  EXPECT_LE(max_diff(attention->forward(x, cos, sin), separate), 1e-5);
  EXPECT_FALSE(attention->qkv_fused.fused());
}

}  // namespace
}  // namespace balcap
