// The training forward (policy_logprobs over completion rows: several prompts with images of different
// sizes, right-padded into one batch) gives every row the same completion logprobs as the model's
// forward over that row alone (batch 1: the path the models parity tests tie to transformers). The
// RL loss recomputation and SFT both go through this batched path. Model: the train fixture's tiny
// Qwen2.5-VL (make_tiny_policy.py); images of tests/data of different sizes.
#include <gtest/gtest.h>

#include "models/caption_prompt.h"
#include "models/policy_logprobs.h"
#include "models/qwen2_5_vl_policy.h"
#include "vision/image.h"
#include "policy_forward.h"
#include "support/test_support.h"

namespace balcap::test {
namespace {

struct TinyPolicy {
  std::unique_ptr<models::Qwen2_5_VLPolicy> policy;
  std::vector<models::PolicyPrompt> prompts;  // one per image below
};

TinyPolicy& tiny_policy() {
  static TinyPolicy m = [] {
    const auto dir = reference_path("train", "tiny_policy");
    TinyPolicy t{models::Qwen2_5_VLPolicy::load(dir), {}};
    const auto tokenizer = text::load_tokenizer(dir);
    const auto processor = vision::load_image_processor(dir);
    for (const char* name : {"chelsea.png", "camera.png", "rocket.jpg", "coffee.png"}) {
      t.prompts.push_back(models::build_caption_prompt(*tokenizer, *processor, vision::decode_image_file(data_path("images") / name),
                                               "Describe this image."));
    }
    return t;
  }();
  return m;
}

TEST(BatchedForward, CompletionLogprobsOfImagesOfDifferentSizesEqualEachRowAlone) {
  auto& m = tiny_policy();
  // Rows: four images (different image-token counts: different prompt lengths) plus image 1 again, and
  // completions of different lengths (right padding), as an RL batch or an SFT batch has.
  const std::vector<int> images{0, 1, 2, 3, 1};
  const std::vector<std::vector<int64_t>> completions{
      {32, 2518, 12671, 13, 151645}, {785, 2168}, {32, 3460, 6303, 9334, 389, 264, 14389, 4004, 13}, {40}, {9707, 13}};
  std::vector<models::LogprobRow> rows;
  for (size_t i = 0; i < images.size(); ++i) rows.push_back(models::completion_row(m.prompts.at(images[i]), completions[i]));
  torch::NoGradGuard no_grad;
  const models::PolicyLogprobs batched = models::policy_logprobs(*m.policy, rows);
  ASSERT_EQ(batched.counts.size(), images.size());
  ASSERT_NE(m.prompts[0].ids.size(), m.prompts[1].ids.size()) << "the images must give different prompt lengths";
  int64_t offset = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const auto expected = full_forward_logprobs(*m.policy, m.prompts.at(images[i]), completions[i]);
    for (size_t t = 0; t < expected.size(); ++t) {
      EXPECT_NEAR(batched.logprobs[offset + static_cast<int64_t>(t)].item<float>(), expected[t], 1e-4)
          << "row " << i << " (image " << images[i] << ") token " << t;
    }
    offset += static_cast<int64_t>(expected.size());
  }
}

}  // namespace
}  // namespace balcap::test
