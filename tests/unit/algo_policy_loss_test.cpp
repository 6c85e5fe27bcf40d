// PPO clipped surrogate, KL estimators, entropy bonus and aggregation weights: hand-worked cases
// and random micro-batches against torch autograd (tests/reference/ref_algo_loss.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "algo/policy_loss.h"
#include "core/error.h"
#include "support/test_support.h"

namespace balcap::algo {
namespace {

at::Tensor vec(const std::vector<double>& v) { return at::tensor(v, at::kDouble).to(at::kFloat); }

PolicyLossInputs one_token(double ratio, double advantage) {
  PolicyLossInputs in;
  in.old_logprobs = vec({std::log(0.5)});
  in.logprobs = vec({std::log(0.5) + std::log(ratio)}).requires_grad_(true);
  in.advantages = vec({advantage});
  in.weights = vec({1.0});
  return in;
}

TEST(PolicyLoss, PositiveAdvantageAboveClipHighIsClippedAndHasNoGradient) {
  PolicyLossInputs in = one_token(1.5, 1.0);
  PolicyLossOutput out = policy_loss(in, PolicyLossOptions{});  // clip 0.2 / 0.28
  EXPECT_NEAR(out.loss.item<double>(), -1.28, 1e-6);
  EXPECT_NEAR(out.clip_frac.item<double>(), 1.0, 1e-6);
  out.loss.backward();
  EXPECT_EQ(in.logprobs.grad().item<double>(), 0.0);
}

TEST(PolicyLoss, NegativeAdvantageAboveClipHighKeepsTheUnclippedTerm) {
  // max(-A r, -A clip(r)) = max(1.5, 1.28): the pessimistic, unclipped term; d/dlogprob = -A r.
  PolicyLossInputs in = one_token(1.5, -1.0);
  PolicyLossOutput out = policy_loss(in, PolicyLossOptions{});
  EXPECT_NEAR(out.loss.item<double>(), 1.5, 1e-6);
  EXPECT_NEAR(out.clip_frac.item<double>(), 0.0, 1e-6);
  out.loss.backward();
  EXPECT_NEAR(in.logprobs.grad().item<double>(), 1.5, 1e-5);
}

TEST(PolicyLoss, ClipLowAndClipHighAreSeparate) {
  // ratio 0.7 with A = -1: clip_low 0.2 -> max(0.7, 0.8) = 0.8 (clipped); clip_low 0.4 -> 0.7.
  PolicyLossOptions o;
  o.clip_low = 0.2;
  EXPECT_NEAR(policy_loss(one_token(0.7, -1.0), o).loss.item<double>(), 0.8, 1e-6);
  o.clip_low = 0.4;
  EXPECT_NEAR(policy_loss(one_token(0.7, -1.0), o).loss.item<double>(), 0.7, 1e-6);
}

TEST(PolicyLoss, KlEstimatorsMatchSchulmansFormulas) {
  // logprob = log 0.5, ref = log 0.25: log(ref / p) = -log 2.
  at::Tensor lp = vec({std::log(0.5)}), ref = vec({std::log(0.25)});
  const double l = -std::log(2.0);
  EXPECT_NEAR(kl_estimate(lp, ref, "k1").item<double>(), -l, 1e-6);
  EXPECT_NEAR(kl_estimate(lp, ref, "k2").item<double>(), 0.5 * l * l, 1e-6);
  EXPECT_NEAR(kl_estimate(lp, ref, "k3").item<double>(), std::exp(l) - l - 1, 1e-6);
}

TEST(PolicyLoss, ZeroKlCoefficientNeedsNoReference) {
  PolicyLossInputs in = one_token(1.0, 1.0);  // ref_logprobs undefined
  EXPECT_NO_THROW(policy_loss(in, PolicyLossOptions{}));
  PolicyLossOptions o;
  o.kl_coef = 0.1;
  EXPECT_THROW(policy_loss(in, o), Error);
}

TEST(PolicyLoss, TokenMeanAndSeqMeanWeightsForTwoCaptions) {
  // Captions of 1 and 3 tokens in a mini-batch of 4 tokens / 2 captions.
  at::Tensor tok = aggregation_weights({1, 3}, "token_mean", 4, 2);
  at::Tensor seq = aggregation_weights({1, 3}, "seq_mean", 4, 2);
  EXPECT_TRUE(at::allclose(tok, vec({0.25, 0.25, 0.25, 0.25})));
  EXPECT_TRUE(at::allclose(seq, vec({0.5, 1.0 / 6, 1.0 / 6, 1.0 / 6})));
  EXPECT_THROW(aggregation_weights({1}, "sum", 1, 1), Error);
}

at::Tensor json_vec(const nlohmann::json& j) { return vec(j.get<std::vector<double>>()); }

// A leaf the loss did not read (entropy with coefficient 0) has no .grad: torch reports zeros.
at::Tensor grad_or_zero(const at::Tensor& t) { return t.grad().defined() ? t.grad() : at::zeros_like(t); }

// One random case of tests/reference/ref_algo_loss.py: its options, and its inputs with the
// weights made by aggregation_weights (logprobs and entropy as given, without grad).
struct LossCase {
  PolicyLossOptions options;
  PolicyLossInputs x;
  std::int64_t tokens = 0;
};

LossCase loss_case(const nlohmann::json& c) {
  const auto& o = c.at("options");
  LossCase k;
  k.options = {o.at("clip_low"), o.at("clip_high"), o.at("kl_coef"), o.at("kl_estimator"), o.at("entropy_coef")};
  const auto lengths = c.at("lengths").get<std::vector<std::int64_t>>();
  for (auto n : lengths) k.tokens += n;
  k.x.logprobs = json_vec(c.at("logprobs"));
  k.x.old_logprobs = json_vec(c.at("old_logprobs"));
  k.x.ref_logprobs = json_vec(c.at("ref_logprobs"));
  k.x.advantages = json_vec(c.at("advantages"));
  k.x.entropy = json_vec(c.at("entropy"));
  k.x.weights =
      aggregation_weights(lengths, o.at("aggregation"), k.tokens, static_cast<std::int64_t>(lengths.size()));
  return k;
}

nlohmann::json loss_cases() {
  std::ifstream in(test::reference_path("algo", "policy_loss_cases.json"));
  return nlohmann::json::parse(in);
}

TEST(PolicyLoss, RandomMicroBatchesMatchTorchAutograd) {
  nlohmann::json cases = loss_cases();
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    LossCase k = loss_case(c);
    const PolicyLossOptions& opt = k.options;
    PolicyLossInputs& x = k.x;
    x.logprobs.requires_grad_(true);
    x.entropy.requires_grad_(true);
    ASSERT_TRUE(at::allclose(x.weights, json_vec(c.at("weights")), 0, 1e-7));
    PolicyLossOutput out = policy_loss(x, opt);
    out.loss.backward();
    const auto& e = c.at("expected");
    EXPECT_NEAR(out.loss.item<double>(), e.at("loss").get<double>(), 1e-5);
    EXPECT_NEAR(out.pg_loss.item<double>(), e.at("pg_loss").get<double>(), 1e-5);
    EXPECT_NEAR(out.kl.item<double>(), e.at("kl").get<double>(), 1e-5);
    EXPECT_NEAR(out.entropy.item<double>(), e.at("entropy").get<double>(), 1e-5);
    EXPECT_NEAR(out.clip_frac.item<double>(), e.at("clip_frac").get<double>(), 1e-6);
    EXPECT_NEAR(out.approx_kl.item<double>(), e.at("approx_kl").get<double>(), 1e-5);
    EXPECT_LE((x.logprobs.grad() - json_vec(c.at("grad_logprobs"))).abs().max().item<double>(), 1e-5);
    EXPECT_LE((grad_or_zero(x.entropy) - json_vec(c.at("grad_entropy"))).abs().max().item<double>(), 1e-5);
  }
}

// The fused head's per-token gradient (models::TokenLogprobsOptions::gradient_in_forward): each
// slice of 3 tokens, given only its own log-probabilities and entropies, gets the slice of the
// whole loss's gradient that torch autograd computed.
TEST(PolicyLoss, TokenGradientOfEachSliceIsThatSliceOfTorchAutogradsGradient) {
  for (const auto& c : loss_cases()) {
    const LossCase k = loss_case(c);
    const PolicyLossOptions& opt = k.options;
    const std::int64_t total = k.tokens;
    const at::Tensor logprobs = k.x.logprobs, entropy = k.x.entropy;
    const at::Tensor want_logprob = json_vec(c.at("grad_logprobs")), want_entropy = json_vec(c.at("grad_entropy"));
    for (std::int64_t start = 0; start < total; start += 3) {
      const std::int64_t n = std::min<std::int64_t>(3, total - start);
      auto [g_logprob, g_entropy] =
          policy_loss_token_gradient(k.x, start, logprobs.narrow(0, start, n), entropy.narrow(0, start, n), opt);
      EXPECT_LE((g_logprob - want_logprob.narrow(0, start, n)).abs().max().item<double>(), 1e-5) << start;
      if (opt.entropy_coef > 0) {
        EXPECT_LE((g_entropy - want_entropy.narrow(0, start, n)).abs().max().item<double>(), 1e-5) << start;
      } else {
        EXPECT_FALSE(g_entropy.defined()) << "no entropy bonus, no entropy gradient";
        EXPECT_EQ(want_entropy.abs().max().item<double>(), 0.0);
      }
    }
  }
}

}  // namespace
}  // namespace balcap::algo
