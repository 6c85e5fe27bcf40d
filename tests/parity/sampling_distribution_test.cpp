// Sampling statistics: the sampler's first-token draws against transformers' warped distribution
// softmax(logits / T) cut by top-k / top-p (ref_sampling.py), by a chi-square test at a fixed
// threshold (p = 0.001), with a fixed seed.
#include <gtest/gtest.h>

#include <cmath>

#include "io/safetensors_reader.h"
#include "sampling_reference.h"

namespace balcap::test {
namespace {

constexpr int64_t kRowsPerCall = 100;
constexpr int64_t kCalls = 10;

// Upper 0.001 quantile of chi-square with `df` degrees of freedom (Wilson-Hilferty).
double chi_square_critical(int64_t df) {
  const double z = 3.0902, a = 2.0 / (9.0 * static_cast<double>(df));
  return static_cast<double>(df) * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

// Token counts of kRowsPerCall * kCalls first tokens drawn with the reference settings.
std::vector<int64_t> draw_counts(const nlohmann::json& dist, int64_t vocab) {
  auto& m = sampling_model();
  sampling::SamplingParams params;
  params.temperature = dist["temperature"];
  params.top_k = dist["top_k"];
  params.top_p = dist["top_p"];
  params.max_new_tokens = 1;
  params.group_size = kRowsPerCall;
  std::vector<int64_t> counts(vocab, 0);
  for (int64_t call = 0; call < kCalls; ++call) {
    const auto samples = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, {dist["image"].get<int>()}), params,
                                          {2024, call, 0});
    for (const auto& s : samples) ++counts.at(s.ids.at(0));
  }
  return counts;
}

// Bins: every token expected >= 5 times on its own, the rest pooled.
double chi_square(const std::vector<int64_t>& counts, const double* probs, int64_t draws, int64_t& bins) {
  double stat = 0, pooled_expected = 0, pooled_observed = 0;
  bins = 0;
  for (size_t v = 0; v < counts.size(); ++v) {
    const double e = probs[v] * static_cast<double>(draws);
    if (e >= 5) {
      stat += (counts[v] - e) * (counts[v] - e) / e;
      ++bins;
    } else {
      pooled_expected += e;
      pooled_observed += static_cast<double>(counts[v]);
    }
  }
  if (pooled_expected >= 5) {
    stat += (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
    ++bins;
  }
  return stat;
}

TEST(SamplerStatistics, FirstTokenDrawsMatchTheWarpedSoftmaxByChiSquare) {
  const auto tensors = io::load_safetensors(reference_path("sampling", "distributions.safetensors"));
  for (const auto& dist : sampling_ref()["distributions"]) {
    const at::Tensor probs = tensors.at(dist["key"].get<std::string>()).to(at::kDouble).contiguous();
    const auto counts = draw_counts(dist, probs.size(0));
    const double* p = probs.data_ptr<double>();
    int64_t outside = 0;
    for (size_t v = 0; v < counts.size(); ++v) outside += p[v] == 0 ? counts[v] : 0;
    EXPECT_EQ(outside, 0) << dist.dump() << ": draws outside the top-k/top-p set";
    int64_t bins = 0;
    const double stat = chi_square(counts, p, kRowsPerCall * kCalls, bins);
    ASSERT_GE(bins, 3) << dist.dump();
    EXPECT_LT(stat, chi_square_critical(bins - 1)) << dist.dump() << " bins " << bins;
    std::printf("%s: chi2 %.1f, %lld bins, critical %.1f\n", dist["key"].get<std::string>().c_str(), stat,
                static_cast<long long>(bins), chi_square_critical(bins - 1));
  }
}

}  // namespace
}  // namespace balcap::test
