// The static-shape decode path (device-side cache index, [N, S_max] slot mask, attention over a
// key-length bucket; what CUDA graphs replay) against transformers and against the eager path, and
// the CUDA-graph path itself on a GPU (skipped without one).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "sampling/decode_graph.h"
#include "sampling_reference.h"

namespace balcap::test {
namespace {

using sampling::Sample;
using sampling::SamplingParams;

std::vector<int64_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }

std::vector<Sample> sample_with(SamplingModel& m, const std::vector<int>& images, SamplingParams params,
                                const sampling::RolloutSeed& seed, bool static_decode) {
  params.static_decode = static_decode;
  return sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, seed);
}

// Same ids, finish reasons and texts; logprobs within `tolerance` relative to max(1, |logprob|):
// attention over another number of (masked) keys rounds differently in float32, and over 40
// steps that reaches ~3e-6 relative (1.2e-5 on a logprob of -3.8).
void expect_same_samples(const std::vector<Sample>& expected, const std::vector<Sample>& actual, double tolerance) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto &e = expected[i], &a = actual[i];
    EXPECT_EQ(a.ids, e.ids) << "row " << i;
    EXPECT_EQ(a.finish_reason, e.finish_reason) << "row " << i;
    EXPECT_EQ(a.text, e.text) << "row " << i;
    ASSERT_EQ(a.logprobs.size(), e.logprobs.size()) << "row " << i;
    for (size_t t = 0; t < e.logprobs.size(); ++t) {
      const double scale = std::max(1.0, std::abs(static_cast<double>(e.logprobs[t])));
      EXPECT_NEAR(a.logprobs[t], e.logprobs[t], tolerance * scale) << "row " << i << " t " << t;
    }
  }
}

TEST(StaticDecode, GreedyCaptionsOfFourImagesOfDifferentSizesEqualTransformersAndTheEagerPath) {
  auto& m = sampling_model();
  const auto& ref = sampling_ref()["greedy"];
  auto params = greedy_params(ref["max_new_tokens"]);
  params.group_size = 2;
  const std::vector<int> images{0, 1, 2, 3};  // prompts of 41, 40, 39, 31 tokens: prefix padding
  const auto fixed = sample_with(m, images, params, {}, true);
  for (const auto& s : fixed) EXPECT_EQ(s.ids, ids_of(ref["ids"][s.request])) << "image " << s.request;
  expect_same_samples(sample_with(m, images, params, {}, false), fixed, 1e-5);
}

SamplingParams sampled_params(double temperature, int64_t max_new_tokens, int64_t group_size) {
  SamplingParams params;
  params.temperature = temperature;
  params.max_new_tokens = max_new_tokens;
  params.group_size = group_size;
  return params;
}

// Groups of 3 sampled at T = 0.7 for 70 new tokens (the attended generated keys grow from one 64-slot
// bucket to the next): the static path gives the eager path's captions.
void expect_static_equals_eager_across_a_bucket(SamplingModel& m, const std::vector<int>& images,
                                                const sampling::RolloutSeed& seed) {
  const auto params = sampled_params(0.7, 70, 3);
  ASSERT_GT(params.max_new_tokens - 1, sampling::kStaticKeyBucket);
  expect_same_samples(sample_with(m, images, params, seed, false), sample_with(m, images, params, seed, true), 1e-5);
}

TEST(StaticDecode, SampledCaptionsAtTemperatureSevenTenthsAcrossAKeyBucketEqualTheEagerPath) {
  expect_static_equals_eager_across_a_bucket(sampling_model(), {2, 0, 3}, {7, 1, 0});
}

// LLaVA-1.5 through the same sampler: groups of 2 forked from one prefill, four images (prompts of
// equal length: CLIP's fixed crop), greedy with EOS blocked as transformers' min_new_tokens.
TEST(StaticDecode, LlavaGreedyGroupsEqualTransformersOnTheStaticAndEagerPaths) {
  auto& m = sampling_model("llava/model");
  const auto& ref = sampling_ref()["llava"]["greedy"];
  auto params = greedy_params(ref["max_new_tokens"]);
  params.min_new_tokens = ref["min_new_tokens"];
  params.group_size = 2;
  const std::vector<int> images{0, 1, 2, 3};
  const auto fixed = sample_with(m, images, params, {}, true);
  ASSERT_EQ(fixed.size(), 8u);
  for (const auto& s : fixed) EXPECT_EQ(s.ids, ids_of(ref["ids"][s.request])) << "image " << s.request;
  expect_same_samples(sample_with(m, images, params, {}, false), fixed, 1e-5);
}

TEST(StaticDecode, LlavaSampledCaptionsAcrossAKeyBucketEqualTheEagerPath) {
  expect_static_equals_eager_across_a_bucket(sampling_model("llava/model"), {2, 0}, {5, 2, 0});
}

// Half the rows stop after 3 tokens and are compacted away (new cache, new slot mask) on the next check.
TEST(StaticDecode, CompactionMidwayGivesTheEagerCaptions) {
  auto& m = sampling_model();
  auto params = sampled_params(0.7, 8, 4);
  const std::vector<int> images{1, 3};
  const sampling::RolloutSeed seed{3, 0, 0};
  const auto free = sample_with(m, images, params, seed, true);
  for (size_t i = 0; i < free.size(); i += 2) params.stop_ids.push_back(free[i].ids[2]);
  params.finish_check_every = 1;
  const auto stopped = sample_with(m, images, params, seed, true);
  int stops = 0;
  for (size_t i = 0; i < free.size(); ++i) {
    stops += stopped[i].finish_reason == "stop";
    EXPECT_TRUE(std::equal(stopped[i].ids.begin(), stopped[i].ids.end(), free[i].ids.begin())) << "row " << i;
  }
  EXPECT_GE(stops, 4);
  expect_same_samples(sample_with(m, images, params, seed, false), stopped, 1e-5);
}

TEST(StaticDecode, DecodeStaticRefusesAKeyMaskThatIsNotBoolRowsByKeys) {
  auto& m = sampling_model();
  torch::NoGradGuard no_grad;
  models::KvCache cache(m.policy->decoder_config(), 2, 8, m.policy->dtype());
  const at::Tensor tokens = at::zeros({2}, at::kLong), index = at::zeros({1}, at::kLong);
  EXPECT_THROW(m.policy->decode_static(tokens, tokens, cache, index, at::ones({2, 8})), Error);  // float
  EXPECT_THROW(m.policy->decode_static(tokens, tokens, cache, index, at::ones({2, 9}, at::kBool)), Error);  // K > S_max
  EXPECT_THROW(m.policy->decode_static(tokens, tokens, cache, index, at::ones({3, 8}, at::kBool)), Error);  // rows
  EXPECT_EQ(m.policy->decode_static(tokens, tokens, cache, index, at::ones({2, 4}, at::kBool)).size(0), 2);
}

// ---- CUDA graphs (GPU only) ----

// The reference model on the GPU in `dtype`, with the CPU model's prompts.
SamplingModel& cuda_model(at::ScalarType dtype) {
  static std::map<at::ScalarType, SamplingModel> models;
  auto it = models.find(dtype);
  if (it != models.end()) return it->second;
  const auto dir = reference_path("sampling", "model");
  SamplingModel m{models::Qwen2_5_VLPolicy::load(dir, dtype, at::kCUDA), text::load_tokenizer(dir), sampling_model().prompts};
  return models.emplace(dtype, std::move(m)).first->second;
}

std::vector<Sample> sample_on_gpu(SamplingModel& m, const std::vector<int>& images, SamplingParams params,
                                  bool graphs) {
  params.cuda_graphs = graphs;
  params.static_decode = false;
  return sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, {11, 2, 0});
}

TEST(CudaGraphDecode, GraphPathGivesTheEagerCaptionsAndTransformersGreedyInFloat32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto& m = cuda_model(at::kFloat);
  const auto& ref = sampling_ref()["greedy"];
  auto greedy = greedy_params(ref["max_new_tokens"]);
  greedy.group_size = 2;
  for (const auto& s : sample_on_gpu(m, {0, 1, 2, 3}, greedy, true)) {
    EXPECT_EQ(s.ids, ids_of(ref["ids"][s.request])) << "image " << s.request;
  }
  SamplingParams params;
  params.temperature = 0.7;
  params.max_new_tokens = 40;
  params.group_size = 3;
  const std::vector<int> images{2, 0, 3};
  expect_same_samples(sample_on_gpu(m, images, params, false), sample_on_gpu(m, images, params, true), 1e-4);
}

TEST(CudaGraphDecode, GraphPathGreedyIdsEqualTheEagerStaticPathInBfloat16AcrossACompaction) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto& m = cuda_model(at::kBFloat16);
  auto params = greedy_params(40);
  params.group_size = 2;
  const std::vector<int> images{0, 1, 2, 3};
  const auto free = sample_on_gpu(m, images, params, true);
  params.stop_ids = {free[0].ids[3], free[2].ids[3]};  // some rows stop early: compaction, re-capture
  params.finish_check_every = 2;
  auto eager = params;
  eager.static_decode = true;
  const auto reference = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), eager, {11, 2, 0});
  const auto graphed = sample_on_gpu(m, images, params, true);
  for (size_t i = 0; i < graphed.size(); ++i) EXPECT_EQ(graphed[i].ids, reference[i].ids) << "row " << i;
}

// The step object itself: one capture for a fixed (N, K), every replay equal to the eager decode().
TEST(CudaGraphDecode, StaticDecodeStepCapturesOnceAndReplaysTheEagerLogits) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::NoGradGuard no_grad;
  auto& m = cuda_model(at::kFloat);
  models::PolicyPrefill prefill = m.policy->prefill(m.prompts[0]);
  const int64_t L = prefill.cache.max_seq_len(), steps = 4, N = 2;
  const auto device = m.policy->device();
  models::KvCache eager(m.policy->decoder_config(), N, L + steps, at::kFloat, device);
  models::KvCache fixed(m.policy->decoder_config(), N, L + steps, at::kFloat, device);
  for (int64_t l = 0; l < eager.num_layers(); ++l) {
    for (models::KvCache* c : {&eager, &fixed}) c->update(l, prefill.cache.keys(l).expand({N, -1, -1, -1}),
                                                  prefill.cache.values(l).expand({N, -1, -1, -1}), 0);
  }
  at::Tensor mask = at::zeros({N, L + steps}, at::TensorOptions().dtype(at::kBool).device(device));
  mask.narrow(1, 0, L).fill_(true);
  const at::Tensor index = at::zeros({1}, at::TensorOptions().dtype(at::kLong).device(device));
  sampling::StaticDecodeStep step(*m.policy, /*capture=*/true);
  at::Tensor tokens = prefill.logits.argmax(-1).expand({N}).contiguous();
  for (int64_t t = 0; t < steps; ++t) {
    const auto positions = at::full({N}, prefill.next_position + t, index.options());
    index.fill_(L + t);
    mask.index_fill_(1, index, true);
    const at::Tensor expected = m.policy->decode(tokens, positions, eager, L + t, {});
    const at::Tensor actual = step(tokens, positions, fixed, index, mask).clone();
    EXPECT_LE((actual - expected).abs().max().item<double>(), 1e-4) << "step " << t;
    tokens = expected.argmax(-1);
  }
  EXPECT_EQ(step.captures(), 1);
}

}  // namespace
}  // namespace balcap::test
