// Gradient checkpointing must be exact: the same gradients (bit for bit) as the plain forward,
// also when the block draws random numbers (dropout, e.g. LoRA's), which the replay must repeat.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/activation_checkpoint.h"
#include "models/text_decoder.h"

namespace balcap {
namespace {

io::TextDecoderConfig tiny_llama() {
  io::TextDecoderConfig c;
  c.model_type = "llama";
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 128;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  return c;
}

// Gradients of sum(out * g) w.r.t. every parameter and the input embeddings.
std::vector<at::Tensor> decoder_grads(models::TextDecoder& dec, const at::Tensor& x, const at::Tensor& g) {
  dec->zero_grad();
  at::Tensor xi = x.clone().requires_grad_(true);
  at::Tensor pos = at::arange(x.size(1)).unsqueeze(0).expand({x.size(0), x.size(1)});
  auto [cos, sin] = dec->rotary(pos, x.scalar_type());
  (dec->forward(xi, cos, sin) * g).sum().backward();
  std::vector<at::Tensor> grads{xi.grad().clone()};
  for (const auto& p : dec->parameters()) grads.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
  return grads;
}

TEST(ActivationCheckpoint, DecoderGradientsEqualThePlainForwardBitForBit) {
  torch::manual_seed(3);
  models::TextDecoder dec(tiny_llama());
  dec->train();
  at::Tensor x = at::randn({2, 7, 32}), g = at::randn({2, 7, 32});
  std::vector<at::Tensor> plain = decoder_grads(dec, x, g);
  dec->set_gradient_checkpointing(true);
  std::vector<at::Tensor> recomputed = decoder_grads(dec, x, g);
  ASSERT_EQ(plain.size(), recomputed.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    ASSERT_EQ(plain[i].defined(), recomputed[i].defined()) << i;
    if (plain[i].defined()) EXPECT_TRUE(at::equal(plain[i], recomputed[i])) << "tensor " << i;
  }
}

TEST(ActivationCheckpoint, DropoutIsReplayedWithTheSameMask) {
  torch::manual_seed(5);
  at::Tensor w = at::randn({16, 16}).requires_grad_(true);
  at::Tensor x = at::randn({4, 16});
  auto block = [&](const at::Tensor& h) { return at::dropout(at::matmul(h, w), 0.5, /*train=*/true); };
  auto grads = [&](bool checkpoint) {
    w.mutable_grad() = at::Tensor();
    at::Tensor xi = x.clone().requires_grad_(true);
    torch::manual_seed(11);
    at::Tensor y = checkpoint ? models::checkpointed(block, xi, {w}) : block(xi);
    // Random numbers drawn after the block must not change the replay either.
    at::Tensor noise = at::randn({4, 16});
    (y * noise).sum().backward();
    return std::make_pair(xi.grad().clone(), w.grad().clone());
  };
  auto [gx_plain, gw_plain] = grads(false);
  auto [gx_ckpt, gw_ckpt] = grads(true);
  EXPECT_TRUE(at::equal(gx_plain, gx_ckpt));
  EXPECT_TRUE(at::equal(gw_plain, gw_ckpt));
}

TEST(ActivationCheckpoint, WithoutGradModeItIsThePlainCall) {
  at::Tensor w = at::randn({3, 3}).requires_grad_(true);
  at::NoGradGuard no_grad;
  at::Tensor y = models::checkpointed([&](const at::Tensor& h) { return at::matmul(h, w); }, at::ones({1, 3}), {w});
  EXPECT_FALSE(y.requires_grad());
}

}  // namespace
}  // namespace balcap
