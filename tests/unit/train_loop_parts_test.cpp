// Small pieces of the training loop with hand-worked values: mini/micro-batch splits, the p90 of
// caption lengths (numpy's linear interpolation), the SFT phase config, device/dtype resolution.
#include <gtest/gtest.h>

#include "core/error.h"
#include "train/adamw.h"
#include "train/session.h"
#include "train/sft_loop.h"
#include "train/step_metrics.h"
#include "train/update_phase.h"

namespace balcap::train {
namespace {

using Ranges = std::vector<std::pair<std::int64_t, std::int64_t>>;

TEST(TrainLoopParts, SplitEvenlyGivesTheFirstPartsOneMoreRow) {
  EXPECT_EQ(split_evenly(5, 2), (Ranges{{0, 3}, {3, 5}}));
  EXPECT_EQ(split_evenly(8, 4), (Ranges{{0, 2}, {2, 4}, {4, 6}, {6, 8}}));
  EXPECT_EQ(split_evenly(2, 5), (Ranges{{0, 1}, {1, 2}}));  // never an empty part
}

TEST(TrainLoopParts, MicroBatchCountFollowsMicroBatchOrGradAccum) {
  config::TrainConfig t;
  t.micro_batch = 3;
  EXPECT_EQ(micro_batch_count(t, 8), 3);  // ceil(8 / 3)
  t.grad_accum = 2;
  EXPECT_EQ(micro_batch_count(t, 8), 2);
}

TEST(TrainLoopParts, QuantileInterpolatesLikeNumpy) {
  // numpy.quantile(range(1, 11), 0.9) = 9.1; of [4] = 4; of nothing = 0.
  EXPECT_DOUBLE_EQ(quantile({10, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0.9), 9.1);
  EXPECT_DOUBLE_EQ(quantile({4}, 0.9), 4.0);
  EXPECT_DOUBLE_EQ(quantile({}, 0.9), 0.0);
}

TEST(TrainLoopParts, SftPhaseConfigTakesStepsLrAndRunDirFromTheSftSection) {
  config::Config c = config::default_config();
  c.train.run_dir = "runs/x";
  c.sft.max_steps = 7;
  c.sft.lr = 2e-5;
  c.sft.batch_size = 3;
  c.optim.min_lr = 1e-4;
  config::Config p = sft_phase_config(c);
  EXPECT_EQ(p.train.run_dir, "runs/x/sft");
  EXPECT_EQ(p.train.max_steps, 7);
  EXPECT_EQ(p.train.batch_size, 3);
  EXPECT_DOUBLE_EQ(p.optim.lr, 2e-5);
  EXPECT_DOUBLE_EQ(p.optim.min_lr, 2e-5);  // never above the SFT lr
  c.sft.run_dir = "elsewhere";
  EXPECT_EQ(sft_phase_config(c).train.run_dir, "elsewhere");
}

TEST(TrainLoopParts, AutoDtypeIsFloat32OnCpu) {
  EXPECT_EQ(resolve_device("cpu"), at::Device(at::kCPU));
  EXPECT_EQ(resolve_dtype("auto", at::kCPU), at::kFloat);
  EXPECT_EQ(resolve_dtype("bfloat16", at::kCPU), at::kBFloat16);
}

TEST(TrainLoopParts, LrScalesFollowTheVisionTowerProjectorAndLanguageModelNames) {
  config::OptimConfig optim;
  optim.vision_lr_scale = 0.1;
  optim.projector_lr_scale = 0.5;
  const at::Tensor t = at::zeros({1});
  const NamedParams params{{"model.visual.blocks.0.attn.qkv.weight", t},
                           {"model.visual.patch_embed.proj.weight", t},
                           {"model.visual.merger.mlp.0.weight", t},
                           {"model.language_model.layers.0.self_attn.q_proj.weight", t},
                           {"lm_head.weight", t},
                           {"model.vision_tower.encoder.layers.0.mlp.fc1.weight", t},
                           {"model.multi_modal_projector.linear_1.weight", t}};
  EXPECT_EQ(lr_scales(params, optim), (std::vector<double>{0.1, 0.1, 0.5, 1.0, 1.0, 0.1, 0.5}));
}

// A param with lr scale s takes exactly the step an unscaled AdamW takes at lr * s (weight decay
// included), and the other params do not notice.
TEST(TrainLoopParts, AdamWLrScaleEqualsAScaledLearningRateForThatParam) {
  at::manual_seed(3);
  const at::Tensor a0 = at::randn({4, 3}), b0 = at::randn({5}), ga = at::randn({4, 3}), gb = at::randn({5});
  AdamWOptions o;
  o.weight_decay = 0.1;
  const auto run = [&](double lr, std::vector<double> scales, int which) {
    at::Tensor a = a0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    AdamW opt({{"a", a}, {"b", b}}, o, std::move(scales));
    for (int step = 0; step < 3; ++step) {
      a.mutable_grad() = ga * (step + 1);
      b.mutable_grad() = gb / (step + 1);
      opt.step(lr);
    }
    return which == 0 ? a.detach() : b.detach();
  };
  EXPECT_TRUE(at::allclose(run(1e-2, {0.25, 1.0}, 0), run(2.5e-3, {}, 0), 0, 0));
  EXPECT_TRUE(at::allclose(run(1e-2, {0.25, 1.0}, 1), run(1e-2, {}, 1), 0, 0));
  EXPECT_FALSE(at::allclose(run(1e-2, {0.25, 1.0}, 0), run(1e-2, {}, 0)));
}

}  // namespace
}  // namespace balcap::train
