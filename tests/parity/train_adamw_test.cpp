// AdamW (+ clipping + LR schedule) against torch.optim.AdamW, clip_grad_norm_ and transformers'
// schedules (tests/reference/ref_train.py), including an fp32-master bf16 run and a state save/load
// in the middle of the trajectory.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "support/test_support.h"

namespace balcap::train {
namespace {

using test::reference_path;

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

struct Reference {
  nlohmann::json meta = read_json(reference_path("train", "adamw.json"));
  io::SafetensorsCheckpoint tensors{reference_path("train", "adamw.safetensors")};
  at::Tensor get(const std::string& name) const { return tensors.tensor(name).clone(); }
  int64_t n_params() const { return static_cast<int64_t>(meta["shapes"].size()); }
};

config::OptimConfig optim_config(const nlohmann::json& m) {
  config::OptimConfig o;
  o.lr = m["lr"];
  o.min_lr = m["min_lr"];
  o.warmup_steps = m["warmup"];
  o.schedule = "cosine";
  o.betas = m["betas"].get<std::vector<double>>();
  o.eps = m["eps"];
  o.weight_decay = m["weight_decay"];
  o.grad_clip = m["max_norm"];
  return o;
}

NamedParams initial_params(const Reference& ref, const std::string& c) {
  NamedParams params;
  for (int64_t i = 0; i < ref.n_params(); ++i) {
    params.emplace_back(fmt::format("p{}", i), ref.get(fmt::format("{}.init.{}", c, i)).set_requires_grad(true));
  }
  return params;
}

// Runs steps [from, to) of case `c` on `opt`, checking norm, lr and parameters after each step.
void run_steps(const Reference& ref, const std::string& c, AdamW& opt, int64_t from, int64_t to, double tol) {
  const auto& m = ref.meta;
  const LrSchedule schedule(optim_config(m), m["steps"]);
  for (int64_t s = from; s < to; ++s) {
    for (int64_t i = 0; i < ref.n_params(); ++i) {
      opt.params()[i].second.mutable_grad() = ref.get(fmt::format("{}.grad.{}.{}", c, s, i));
    }
    const GradNorm norm = opt.clip_grad_norm(m["max_norm"]);
    const double expected_norm = m["cases"][c]["norms"][s];
    EXPECT_NEAR(norm.norm, expected_norm, 1e-6 * expected_norm) << c << " step " << s;
    EXPECT_EQ(norm.clipped, expected_norm > m["max_norm"].get<double>());
    const double lr = schedule.lr_at(s);
    EXPECT_DOUBLE_EQ(lr, m["cases"][c]["lrs"][s].get<double>()) << "step " << s;
    opt.step(lr);
    opt.zero_grad();
    for (int64_t i = 0; i < ref.n_params(); ++i) {
      const auto expected = ref.get(fmt::format("{}.param.{}.{}", c, s, i));
      const auto& p = opt.params()[i].second;
      ASSERT_EQ(p.scalar_type(), expected.scalar_type());
      const double diff = (p.detach().to(at::kFloat) - expected.to(at::kFloat)).abs().max().item<double>();
      EXPECT_LE(diff, tol) << c << " step " << s << " param " << i;
    }
  }
}

TEST(AdamW, Float32MatchesTorchAdamWWithClippingAndCosineWarmup) {
  const Reference ref;
  AdamW opt(initial_params(ref, "fp32"), adamw_options_from(optim_config(ref.meta)));
  run_steps(ref, "fp32", opt, 0, ref.meta["steps"], 1e-7);
  // The moments too.
  const auto state = opt.state_dict();
  for (int64_t i = 0; i < ref.n_params(); ++i) {
    for (const char* moment : {"exp_avg", "exp_avg_sq"}) {
      const auto it = std::find_if(state.begin(), state.end(),
                                   [&](const auto& kv) { return kv.first == fmt::format("p{}.{}", i, moment); });
      ASSERT_NE(it, state.end());
      EXPECT_TRUE(at::allclose(it->second, ref.get(fmt::format("fp32.{}.{}", moment, i)), 1e-6, 1e-10)) << moment;
    }
  }
}

TEST(AdamW, Bfloat16ParamsFollowTheFloat32MasterTrajectory) {
  const Reference ref;
  auto params = initial_params(ref, "bf16");
  ASSERT_EQ(params[0].second.scalar_type(), at::kBFloat16);
  AdamW opt(params, adamw_options_from(optim_config(ref.meta)));
  // bf16 rounding of the same fp32 master: equal, barring a one-ulp tie (bf16 ulp at |x|~4 is 2^-5).
  run_steps(ref, "bf16", opt, 0, ref.meta["steps"], 0.0);
  const auto state = opt.state_dict();
  EXPECT_EQ(std::count_if(state.begin(), state.end(), [](const auto& kv) { return kv.first.ends_with(".master"); }),
            ref.n_params());
}

TEST(AdamW, StateSavedMidRunAndLoadedContinuesIdentically) {
  const Reference ref;
  for (const std::string c : {"fp32", "bf16"}) {
    AdamW first(initial_params(ref, c), adamw_options_from(optim_config(ref.meta)));
    run_steps(ref, c, first, 0, 3, c == "fp32" ? 1e-7 : 0.0);
    const auto file = test::scratch_dir() / "optim" / "rank-0.safetensors";
    save_optimizer_state(first, file);
    // A fresh process: parameters as the checkpoint's model files hold them (the bf16 values).
    NamedParams restored;
    for (const auto& [name, p] : first.params())
      restored.emplace_back(name, p.detach().clone().set_requires_grad(true));
    AdamW second(restored, adamw_options_from(optim_config(ref.meta)));
    load_optimizer_state(second, file.parent_path());
    run_steps(ref, c, second, 3, ref.meta["steps"], c == "fp32" ? 1e-7 : 0.0);
  }
}

TEST(AdamW, StateOfOtherParametersIsRefusedNamingTheEntries) {
  AdamW opt({{"a", at::zeros({2}).set_requires_grad(true)}}, AdamWOptions{});
  std::vector<std::pair<std::string, at::Tensor>> state = {{"a.exp_avg", at::zeros({3})},
                                                           {"b.exp_avg", at::zeros({2})}};
  try {
    opt.load_state_dict(state, "optim/rank-0.safetensors");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'a.exp_avg' is"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing 'a.exp_avg_sq'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected 'b.exp_avg'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("optim/rank-0.safetensors"), std::string::npos) << msg;
  }
}

TEST(AdamW, NonFiniteGradientIsReportedAndLeftUntouched) {
  auto p = at::ones({3}).set_requires_grad(true);
  AdamW opt({{"p", p}}, AdamWOptions{});
  p.mutable_grad() = at::tensor({1.0f, NAN, 2.0f});
  const GradNorm g = opt.clip_grad_norm(1.0);
  EXPECT_FALSE(g.finite);
  EXPECT_EQ(p.grad()[2].item<float>(), 2.0f);
}

TEST(LrSchedule, MatchesTransformersSchedules) {
  for (const auto& c : read_json(reference_path("train", "lr_schedule.json"))) {
    config::OptimConfig o;
    o.schedule = c["schedule"];
    o.lr = c["lr"];
    o.min_lr = c["min_lr"];
    o.warmup_steps = c["warmup"];
    const int64_t total = c["total"];
    const LrSchedule schedule(o, total);
    // Up to the last update; past it balcap stays at min_lr (transformers' cosine would rise again).
    for (int64_t k = 0; k <= total; ++k) {
      EXPECT_NEAR(schedule.lr_at(k), c["lrs"][k].get<double>(), 1e-15 * o.lr) << c.dump() << " k " << k;
    }
    EXPECT_EQ(schedule.lr_at(total + 2), o.schedule == "cosine" ? o.min_lr : o.lr);
  }
}

}  // namespace
}  // namespace balcap::train
