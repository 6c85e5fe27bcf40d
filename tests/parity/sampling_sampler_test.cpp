// The group sampler against transformers generate (greedy, stops, min_new_tokens, repetition
// penalty), against a full forward pass (logprobs), and its RNG contract.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

#include "policy_forward.h"
#include "sampling_reference.h"

namespace balcap::test {
namespace {

std::vector<int64_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }

TEST(Sampler, CaptionPromptIdsEqualTheTransformersProcessor) {
  auto& m = sampling_model();
  const auto& expected = sampling_ref()["prompt_ids"];
  ASSERT_EQ(m.prompts.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(m.prompts[i].ids, ids_of(expected[i])) << "image " << i;
}

// Images 0 and 4 have one size (their prompts are prefilled together), the others three more sizes.
TEST(Sampler, GreedyCaptionsOfFiveImagesInOneBatchEqualTransformersGenerate) {
  auto& m = sampling_model();
  const auto& ref = sampling_ref()["greedy"];
  auto params = greedy_params(ref["max_new_tokens"]);
  params.group_size = 2;  // both members of a group follow the same greedy path
  const std::vector<int> images{0, 4, 1, 2, 3};
  const auto samples = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, {});
  ASSERT_EQ(samples.size(), 10u);
  for (const auto& s : samples) {
    const int image = images[s.request];
    EXPECT_EQ(s.ids, ids_of(ref["ids"][image])) << "image " << image << " member " << s.member;
    EXPECT_EQ(s.finish_reason, "length");
  }
}

// The two same-size images through the vision tower and the decoder in one batch: every row equals
// its prompt prefilled alone (keys/values, next-token logits, next rotary position).
TEST(Sampler, PrefillBatchOfTwoSameSizeImagesEqualsEachPromptAlone) {
  auto& m = sampling_model();
  ASSERT_EQ(m.prompts[0].ids.size(), m.prompts[4].ids.size());
  const models::PolicyPrefillBatch batch = m.policy->prefill_batch({&m.prompts[0], &m.prompts[4]});
  ASSERT_EQ(batch.logits.size(0), 2);
  const auto close = [](const at::Tensor& a, const at::Tensor& b) {
    return (a - b).abs().max().item<double>() <= 1e-5 * std::max(1.0, b.abs().max().item<double>());
  };
  for (int64_t row = 0; row < 2; ++row) {
    const models::PolicyPrefill alone = m.policy->prefill(m.prompts[row == 0 ? 0 : 4]);
    EXPECT_TRUE(close(batch.logits[row], alone.logits[0])) << "row " << row;
    EXPECT_EQ(batch.next_positions[row], alone.next_position) << "row " << row;
    for (int64_t l = 0; l < alone.cache.num_layers(); ++l) {
      EXPECT_TRUE(close(batch.cache.keys(l)[row], alone.cache.keys(l)[0])) << "row " << row << " layer " << l;
      EXPECT_TRUE(close(batch.cache.values(l)[row], alone.cache.values(l)[0])) << "row " << row << " layer " << l;
    }
  }
  EXPECT_FALSE(close(batch.logits[0], batch.logits[1]));  // two different images
  try {
    m.policy->prefill_batch({&m.prompts[0], &m.prompts[1]});
    FAIL() << "prompts of 41 and 40 tokens were batched";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("prompt 1 has 40 tokens"), std::string::npos) << e.what();
  }
}

TEST(Sampler, ExtraStopIdEndsTheCaptionKeepingTheStopInIdsAndOutOfText) {
  auto& m = sampling_model();
  const auto& ref = sampling_ref()["stop"];
  auto params = greedy_params(ref["max_new_tokens"]);
  params.stop_ids = {151645, ref["stop_id"].get<int64_t>()};
  const auto samples = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, {0, 1}), params, {});
  EXPECT_EQ(samples[0].ids, ids_of(ref["ids"]));
  EXPECT_EQ(samples[0].logprobs.size(), samples[0].ids.size());
  EXPECT_EQ(samples[0].finish_reason, "stop");
  EXPECT_EQ(samples[0].text, ref["text"].get<std::string>());
  EXPECT_EQ(samples[1].finish_reason, "length");  // the other image never samples it
  EXPECT_EQ(samples[1].ids, ids_of(sampling_ref()["greedy"]["ids"][1]));
}

TEST(Sampler, MinNewTokensBlocksTheStopIdsAsTransformersDoes) {
  auto& m = sampling_model();
  const auto& ref = sampling_ref()["min_new"];
  auto params = greedy_params(ref["max_new_tokens"]);
  params.stop_ids = {151645, ref["stop_id"].get<int64_t>()};
  params.min_new_tokens = ref["min_new_tokens"];
  const auto samples = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, {0}), params, {});
  EXPECT_EQ(samples[0].ids, ids_of(ref["ids"]));
}

TEST(Sampler, RepetitionPenaltyGreedyEqualsTransformersGenerate) {
  auto& m = sampling_model("model_tied");
  const auto& ref = sampling_ref()["penalty"];
  auto params = greedy_params(ref["max_new_tokens"]);
  params.repetition_penalty = ref["repetition_penalty"];
  const std::vector<int> images{0, 4, 1, 2, 3};
  const auto samples = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, {});
  for (const auto& s : samples) EXPECT_EQ(s.ids, ids_of(ref["ids"][images[s.request]])) << "image " << images[s.request];
}

void expect_logprobs_match_full_forward(SamplingModel& m, const std::vector<sampling::Sample>& samples,
                                        const std::vector<int>& images) {
  for (const auto& s : samples) {
    const auto expected = full_forward_logprobs(*m.policy, m.prompts[images[s.request]], s.ids);
    ASSERT_EQ(s.logprobs.size(), expected.size());
    for (size_t t = 0; t < expected.size(); ++t) {
      EXPECT_NEAR(s.logprobs[t], expected[t], 1e-4) << "request " << s.request << " member " << s.member << " t " << t;
    }
  }
}

TEST(Sampler, SampledLogprobsEqualLogSoftmaxOfAFullForwardPass) {
  auto& m = sampling_model();
  sampling::SamplingParams params;
  params.max_new_tokens = 8;
  params.group_size = 3;
  // Different prompt lengths (padding in the shared prefix) and two of one length (one prefill).
  const std::vector<int> images{2, 0, 4, 3};
  const auto samples = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, {7, 1, 0});
  ASSERT_EQ(samples.size(), 12u);
  expect_logprobs_match_full_forward(m, samples, images);
}

// Rows that stop early are compacted away; the others must not notice: with stops, every caption
// is the no-stop caption cut at its first stop id (same per-row randomness, same logits).
TEST(Sampler, CompactingFinishedRowsLeavesTheOtherCaptionsUnchanged) {
  auto& m = sampling_model();
  sampling::SamplingParams params;
  params.max_new_tokens = 8;
  params.group_size = 4;
  const std::vector<int> images{1, 3};
  const auto free = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, {3, 0, 0});
  for (size_t i = 0; i < free.size(); i += 2) params.stop_ids.push_back(free[i].ids[2]);  // half the rows stop at 2
  params.finish_check_every = 1;
  const auto stopped = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, {3, 0, 0});
  int stops = 0;
  for (size_t i = 0; i < free.size(); ++i) {
    const auto& s = stopped[i];
    ASSERT_LE(s.ids.size(), free[i].ids.size());
    EXPECT_TRUE(std::equal(s.ids.begin(), s.ids.end(), free[i].ids.begin())) << "row " << i;
    stops += s.finish_reason == "stop";
    if (s.finish_reason == "length") {
      EXPECT_EQ(s.ids, free[i].ids) << "row " << i;
    }
  }
  EXPECT_GE(stops, 4);
  expect_logprobs_match_full_forward(m, stopped, images);
}

TEST(Sampler, SameSeedGivesTheSameCaptionsAloneAndInABatchOfFour) {
  auto& m = sampling_model();
  sampling::SamplingParams params;
  params.max_new_tokens = 6;
  params.group_size = 2;
  params.top_k = 40;
  params.temperature = 1.2;
  const sampling::RolloutSeed seed{42, 5, 1};
  const std::vector<int> images{0, 4, 1, 2};  // 0 and 4: one size, prefilled together in the batch
  const auto batch = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, images), params, seed);
  for (size_t i = 0; i < images.size(); ++i) {
    const auto alone = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, {images[i]}), params, seed);
    for (size_t g = 0; g < 2; ++g) {
      EXPECT_EQ(alone[g].ids, batch[2 * i + g].ids) << "image " << images[i] << " member " << g;
      EXPECT_EQ(alone[g].text, batch[2 * i + g].text);
    }
  }
  EXPECT_NE(batch[0].ids, batch[1].ids);  // members draw independently
  const auto other_step = sampling::sample(*m.policy, *m.tokenizer, requests_for(m, {0}), params, {42, 6, 1});
  EXPECT_NE(other_step[0].ids, batch[0].ids);
}

}  // namespace
}  // namespace balcap::test
