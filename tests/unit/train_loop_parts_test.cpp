// Small pieces of the training loop with hand-worked values: mini/micro-batch splits, the p90 of
// caption lengths (numpy's linear interpolation), the SFT phase config, device/dtype resolution.
#include <gtest/gtest.h>

#include "balcap/core/error.h"
#include "balcap/train/session.h"
#include "balcap/train/step_metrics.h"
#include "balcap/train/trainer.h"
#include "balcap/train/update_phase.h"

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
  Config c = config::default_config();
  c.train.run_dir = "runs/x";
  c.sft.max_steps = 7;
  c.sft.lr = 2e-5;
  c.sft.batch_size = 3;
  c.optim.min_lr = 1e-4;
  Config p = sft_phase_config(c);
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

}  // namespace
}  // namespace balcap::train
