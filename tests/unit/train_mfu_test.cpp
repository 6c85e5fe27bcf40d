// perf/mfu: the parameter split of a policy, the model FLOPs of a step against a hand count, and the
// GPU peak table.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "train/mfu.h"

namespace balcap::train {
namespace {

// One weight of the given shape.
struct Leaf : torch::nn::Module {
  explicit Leaf(std::vector<int64_t> shape) { register_parameter("weight", torch::zeros(shape)); }
};

// Parameter names like Qwen2.5-VL's: visual.weight (30), model.embed_tokens.weight (400, the tied
// output projection), model.layer.weight (32), model.norm.weight (4).
struct NamedLikeQwen : torch::nn::Module {
  NamedLikeQwen() {
    register_module("visual", std::make_shared<Leaf>(std::vector<int64_t>{10, 3}));
    auto model = std::make_shared<torch::nn::Module>();
    model->register_module("embed_tokens", std::make_shared<Leaf>(std::vector<int64_t>{100, 4}));
    model->register_module("layer", std::make_shared<Leaf>(std::vector<int64_t>{4, 8}));
    model->register_module("norm", std::make_shared<Leaf>(std::vector<int64_t>{4}));
    register_module("model", model);
  }
};

TEST(Mfu, ParametersSplitIntoDecoderOutputProjectionAndVisionTower) {
  NamedLikeQwen m;
  m.named_parameters()["visual.weight"].set_requires_grad(false);
  const ParamCounts c = count_params(m, /*output_numel=*/400);
  EXPECT_EQ(c.decoder, 36);
  EXPECT_EQ(c.output, 400);  // the tied embedding counts once, as the output projection
  EXPECT_EQ(c.vision, 30);
  EXPECT_FALSE(c.vision_trained);
}

TEST(Mfu, StepFlopsAreTwicePerForwardTokenAndSixPerTrainedTokenPerParameter) {
  ParamCounts p{.decoder = 1000, .output = 500, .vision = 200, .vision_trained = false};
  StepWork w{.prompt_tokens = 10, .generated_tokens = 20, .rollout_patches = 40,
             .loss_row_tokens = 60, .loss_caption_tokens = 20, .loss_patches = 40};
  // rollout: 2*1000*(10+20) + 2*500*20 + 2*200*40; loss: 6*1000*60 + 6*500*20 + 2*200*40 (tower frozen)
  const double expected = 60000 + 20000 + 16000 + 360000 + 60000 + 16000;
  EXPECT_DOUBLE_EQ(step_model_flops(p, w), expected);
  p.vision_trained = true;
  EXPECT_DOUBLE_EQ(step_model_flops(p, w), expected + 4 * 200 * 40);
  w.reference = true;  // + a forward of the reference over the loss rows
  EXPECT_DOUBLE_EQ(step_model_flops(p, w), expected + 4 * 200 * 40 + 2 * (1000 * 60 + 500 * 20 + 200 * 40));
}

TEST(Mfu, RankWorkCountsEachPromptOnceInTheRolloutAndEveryRowInTheLoss) {
  Rollout r;
  r.items.resize(1);
  r.items[0].prompt.ids = std::vector<int64_t>(7, 1);
  r.items[0].prompt.pixel_values = torch::zeros({16, 1176});  // 16 patches
  for (int g = 0; g < 2; ++g) {
    sampling::Sample s;
    s.request = 0;
    s.ids = std::vector<int64_t>(3 + g, 2);
    r.samples.push_back(s);
  }
  const StepWork w = rank_step_work(r, /*ppo_epochs=*/2, /*vision_once_per_image=*/false, false);
  EXPECT_EQ(w.prompt_tokens, 7);
  EXPECT_EQ(w.generated_tokens, 3 + 4);
  EXPECT_EQ(w.rollout_patches, 16);
  EXPECT_EQ(w.loss_row_tokens, 2 * ((7 + 3) + (7 + 4)));
  EXPECT_EQ(w.loss_caption_tokens, 2 * 7);
  EXPECT_EQ(w.loss_patches, 2 * 2 * 16);  // one tower run per row and epoch
  EXPECT_EQ(rank_step_work(r, 2, /*vision_once_per_image=*/true, false).loss_patches, 2 * 16);
}

TEST(Mfu, PeakComesFromTheGpuNameAndDtypeAndIsAbsentOnTheCpu) {
  EXPECT_DOUBLE_EQ(peak_flops_of_gpu("NVIDIA H100 80GB HBM3", at::kBFloat16).value(), 989.4e12);
  EXPECT_DOUBLE_EQ(peak_flops_of_gpu("NVIDIA H100 PCIe", at::kBFloat16).value(), 756.0e12);
  EXPECT_DOUBLE_EQ(peak_flops_of_gpu("NVIDIA H200", at::kFloat).value(), 66.9e12);
  EXPECT_FALSE(peak_flops_of_gpu("NVIDIA GeForce GT 710", at::kBFloat16).has_value());
  EXPECT_FALSE(peak_flops(at::Device(at::kCPU), at::kFloat, 100).has_value());
}

}  // namespace
}  // namespace balcap::train
