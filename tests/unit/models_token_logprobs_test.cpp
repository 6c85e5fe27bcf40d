// Chunked sampled-token logprobs against a hand-worked case and against torch autograd through
// a full [N, V] log_softmax (tests/reference/ref_models_token_logprobs.py, run by ref_models.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/token_logprobs.h"
#include "core/error.h"
#include "io/safetensors_reader.h"
#include "support/test_support.h"
#include "support/max_abs_diff.h"

namespace balcap {
namespace {

using test::max_abs_diff;

// float32 tolerance against the float64 reference: 5e-5 x the larger of the tensor's scale and the
// logits' scale (|z| reaches ~14 here; at temperature 0.7, ~20). The logits come from a float32 GEMM
// whose accumulation order (and so its last bits) depends on the CPU the BLAS library picks a kernel
// for; every output inherits an error proportional to |z|. A wrong formula is off by 1e-2 or more.
double tolerance(const at::Tensor& reference, double logits_scale) {
  return 5e-5 * std::max({1.0, reference.abs().max().item<double>(), logits_scale});
}

TEST(TokenLogprobs, ThreeWordVocabularyMatchesHandComputedValues) {
  // logits = [0, 1, 2] for the one row: logprob(2) = 2 - log(1 + e + e^2).
  at::Tensor hidden = at::ones({1, 1});
  at::Tensor weight = at::tensor({0.0f, 1.0f, 2.0f}).reshape({3, 1});
  models::TokenLogprobsOptions opt;
  opt.entropy = true;
  models::TokenLogprobs r = models::token_logprobs(hidden, weight, at::tensor({int64_t{2}}), opt);
  const double lse = std::log(1 + std::exp(1.0) + std::exp(2.0));
  EXPECT_NEAR(r.logprobs.item<double>(), 2 - lse, 1e-6);
  double h = 0;
  for (double z : {0.0, 1.0, 2.0}) h -= std::exp(z - lse) * (z - lse);
  EXPECT_NEAR(r.entropy.item<double>(), h, 1e-6);
}

TEST(TokenLogprobs, GradientOfOneTokenIsOnehotMinusSoftmax) {
  // d logprob / d logits = onehot - p; logits = w * h with h = 1 -> d/dw_v = onehot_v - p_v.
  at::Tensor hidden = at::ones({1, 1});
  at::Tensor weight = at::tensor({0.0f, 1.0f, 2.0f}).reshape({3, 1}).requires_grad_(true);
  models::token_logprobs(hidden, weight, at::tensor({int64_t{0}})).logprobs.sum().backward();
  const double lse = std::log(1 + std::exp(1.0) + std::exp(2.0));
  EXPECT_NEAR(weight.grad()[0][0].item<double>(), 1 - std::exp(0 - lse), 1e-6);
  EXPECT_NEAR(weight.grad()[1][0].item<double>(), -std::exp(1 - lse), 1e-6);
  EXPECT_NEAR(weight.grad()[2][0].item<double>(), -std::exp(2 - lse), 1e-6);
}

// max |z| of the logits z = hidden weight^T / T, in float64.
double logits_scale(const at::Tensor& hidden, const at::Tensor& weight, double temperature) {
  return at::matmul(hidden.to(at::kDouble), weight.to(at::kDouble).t()).abs().max().item<double>() / temperature;
}

// How the head's gradient is computed: recomputed in backward; in the forward pass from the
// loss's per-token gradient, predicted right; or predicted wrong (twice the real one), which
// backward must notice and recompute.
enum class HeadGrad { in_backward, in_forward, mispredicted };

void check_against_reference(const std::string& prefix, double temperature, HeadGrad head = HeadGrad::in_backward) {
  io::SafetensorsFile ref(test::reference_path("models", "token_logprobs.safetensors"));
  auto t = [&](const std::string& name) { return ref.tensor(prefix + name).clone(); };
  at::Tensor hidden = t("hidden").requires_grad_(true);
  at::Tensor weight = t("weight").requires_grad_(true);
  models::TokenLogprobsOptions opt;
  opt.chunk_rows = 8;  // 37 rows: 4 full chunks and a partial one
  opt.temperature = temperature;
  opt.entropy = true;
  opt.entropy_grad = true;
  int predictions = 0;
  if (head != HeadGrad::in_backward) {
    // The loss below is sum(g_logprob logprob + g_entropy entropy): its per-token gradient is known.
    const double scale = head == HeadGrad::in_forward ? 1.0 : 2.0;
    opt.gradient_in_forward = [&, scale](std::int64_t start, const at::Tensor& logprob, const at::Tensor& entropy) {
      ++predictions;
      EXPECT_TRUE(entropy.defined());
      const std::int64_t n = logprob.size(0);
      return std::make_pair(scale * t("g_logprob").narrow(0, start, n), scale * t("g_entropy").narrow(0, start, n));
    };
  }
  models::TokenLogprobs r = models::token_logprobs(hidden, weight, t("targets"), opt);
  (t("g_logprob") * r.logprobs + t("g_entropy") * r.entropy).sum().backward();
  const double z = logits_scale(t("hidden"), t("weight"), temperature);
  EXPECT_LE(max_abs_diff(r.logprobs, t("logprobs")), tolerance(t("logprobs"), z));
  EXPECT_LE(max_abs_diff(r.entropy, t("entropy")), tolerance(t("entropy"), z));
  EXPECT_LE(max_abs_diff(hidden.grad(), t("grad_hidden")), tolerance(t("grad_hidden"), z));
  EXPECT_LE(max_abs_diff(weight.grad(), t("grad_weight")), tolerance(t("grad_weight"), z));
  EXPECT_EQ(predictions, head == HeadGrad::in_backward ? 0 : 5) << "one prediction per chunk";
}

TEST(TokenLogprobs, ValuesAndGradientsMatchAutogradThroughFullLogSoftmax) { check_against_reference("t1.", 1.0); }

TEST(TokenLogprobs, TemperatureScaledValuesAndGradientsMatchAutograd) { check_against_reference("t07.", 0.7); }

TEST(TokenLogprobs, GradientsComputedInTheForwardPassMatchAutograd) {
  check_against_reference("t1.", 1.0, HeadGrad::in_forward);
  check_against_reference("t07.", 0.7, HeadGrad::in_forward);
}

TEST(TokenLogprobs, AMispredictedGradientIsRecomputedInBackwardAndStillMatchesAutograd) {
  check_against_reference("t07.", 0.7, HeadGrad::mispredicted);
}

// The training default: the entropy is a metric and only the logprobs carry gradient (on the CPU
// the head's gradients then come from e = exp(z / T - m), the [c, V] gradient never formed).
void check_logprob_only(const std::string& prefix, double temperature, HeadGrad head) {
  io::SafetensorsFile ref(test::reference_path("models", "token_logprobs.safetensors"));
  auto t = [&](const std::string& name) { return ref.tensor(prefix + name).clone(); };
  at::Tensor hidden = t("hidden").requires_grad_(true);
  at::Tensor weight = t("weight").requires_grad_(true);
  models::TokenLogprobsOptions opt;
  opt.chunk_rows = 8;
  opt.temperature = temperature;
  opt.entropy = true;
  if (head != HeadGrad::in_backward) {
    const double scale = head == HeadGrad::in_forward ? 1.0 : 2.0;
    opt.gradient_in_forward = [&, scale](std::int64_t start, const at::Tensor& logprob, const at::Tensor&) {
      return std::make_pair(scale * t("g_logprob").narrow(0, start, logprob.size(0)), at::Tensor());
    };
  }
  models::TokenLogprobs r = models::token_logprobs(hidden, weight, t("targets"), opt);
  (t("g_logprob") * r.logprobs).sum().backward();
  const double z = logits_scale(t("hidden"), t("weight"), temperature);
  EXPECT_LE(max_abs_diff(r.entropy, t("entropy")), tolerance(t("entropy"), z)) << prefix;
  EXPECT_LE(max_abs_diff(hidden.grad(), t("grad_hidden_logprob_only")), tolerance(t("grad_hidden_logprob_only"), z))
      << prefix;
  EXPECT_LE(max_abs_diff(weight.grad(), t("grad_weight_logprob_only")), tolerance(t("grad_weight_logprob_only"), z))
      << prefix;
}

TEST(TokenLogprobs, LogprobOnlyGradientsMatchAutogradInBackwardInTheForwardPassAndWhenMispredicted) {
  for (const auto& [prefix, temperature] : {std::pair{"t1.", 1.0}, std::pair{"t07.", 0.7}}) {
    check_logprob_only(prefix, temperature, HeadGrad::in_backward);
    check_logprob_only(prefix, temperature, HeadGrad::in_forward);
    check_logprob_only(prefix, temperature, HeadGrad::mispredicted);
  }
}

// A frozen head (LoRA): the prediction is not even asked for when no input wants a gradient.
TEST(TokenLogprobs, NoPredictionIsAskedWhenNothingWantsAGradient) {
  at::Tensor hidden = at::randn({5, 4}), weight = at::randn({7, 4});
  models::TokenLogprobsOptions opt;
  int predictions = 0;
  opt.gradient_in_forward = [&](std::int64_t, const at::Tensor& logprob, const at::Tensor&) {
    ++predictions;
    return std::make_pair(at::ones_like(logprob), at::Tensor());
  };
  models::TokenLogprobs r = models::token_logprobs(hidden, weight, at::tensor({0, 1, 2, 3, 4}, at::kLong), opt);
  EXPECT_EQ(predictions, 0);
  EXPECT_FALSE(r.logprobs.requires_grad());
}

TEST(TokenLogprobs, EntropyWithoutGradIsADetachedMetric) {
  io::SafetensorsFile ref(test::reference_path("models", "token_logprobs.safetensors"));
  at::Tensor hidden = ref.tensor("t1.hidden").clone().requires_grad_(true);
  models::TokenLogprobsOptions opt;
  opt.entropy = true;
  models::TokenLogprobs r = models::token_logprobs(hidden, ref.tensor("t1.weight"), ref.tensor("t1.targets"), opt);
  EXPECT_FALSE(r.entropy.requires_grad());
  // A loss that also reads the (detached) entropy: only the logprob part reaches hidden.
  (ref.tensor("t1.g_logprob") * r.logprobs + r.entropy).sum().backward();
  at::Tensor expected = ref.tensor("t1.grad_hidden_logprob_only");
  const double z = logits_scale(ref.tensor("t1.hidden"), ref.tensor("t1.weight"), 1.0);
  EXPECT_LE(max_abs_diff(hidden.grad(), expected), tolerance(expected, z));
}

TEST(TokenLogprobs, TopFiveLogprobsAndIdsMatchTheFullLogSoftmaxAndCarryNoGrad) {
  io::SafetensorsFile ref(test::reference_path("models", "token_logprobs.safetensors"));
  for (const auto& [prefix, temperature] : {std::pair{"t1.", 1.0}, std::pair{"t07.", 0.7}}) {
    auto t = [&](const std::string& name) { return ref.tensor(prefix + name).clone(); };
    models::TokenLogprobsOptions opt;
    opt.chunk_rows = 8;
    opt.temperature = temperature;
    opt.top_k = 5;
    models::TokenLogprobs r = models::token_logprobs(t("hidden").requires_grad_(true), t("weight"), t("targets"), opt);
    const double z = logits_scale(t("hidden"), t("weight"), temperature);
    EXPECT_TRUE(r.top_ids.equal(t("top_ids"))) << prefix;
    EXPECT_LE(max_abs_diff(r.top_logprobs, t("top_logprobs")), tolerance(t("top_logprobs"), z)) << prefix;
    EXPECT_FALSE(r.top_logprobs.requires_grad());
    EXPECT_TRUE(r.logprobs.requires_grad());
  }
}

TEST(TokenLogprobs, ChunkRowsFollowTheByteBudget) {
  models::TokenLogprobsOptions opt;
  opt.chunk_bytes = 151936 * 4 * 10;
  EXPECT_EQ(models::token_logprobs_chunk_rows(151936, opt), 10);
  opt.chunk_bytes = 1;
  EXPECT_EQ(models::token_logprobs_chunk_rows(151936, opt), 1);
  opt.chunk_rows = 7;
  EXPECT_EQ(models::token_logprobs_chunk_rows(151936, opt), 7);
}

TEST(TokenLogprobs, OutOfVocabularyTargetNamesTheId) {
  try {
    models::token_logprobs(at::ones({1, 2}), at::ones({5, 2}), at::tensor({int64_t{9}}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target id 9"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos);
  }
}

TEST(TokenLogprobs, MismatchedHiddenAndWeightWidthsAreRefused) {
  EXPECT_THROW(models::token_logprobs(at::ones({2, 3}), at::ones({5, 2}), at::zeros({2}, at::kLong)), Error);
}

}  // namespace
}  // namespace balcap
