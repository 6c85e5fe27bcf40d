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

// Vision once per image (make_policy_batch shares a prompt's image between its rows, as the G captions of
// one image in the RL loss): the same logprobs and the same gradients as one vision-tower run per row
// (autograd sums the rows' uses of the shared features), with the tower trainable and frozen.
void expect_shared_tower_gives_per_row_gradients(models::Policy& policy, const std::vector<models::LogprobRow>& rows) {
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& p : policy.module().named_parameters()) {
    if (p.value().requires_grad()) params.emplace_back(p.key(), p.value());
  }
  const auto gradients = [&](bool share) {
    for (auto& [name, p] : params) p.mutable_grad() = at::Tensor();
    models::PolicyLogprobsOptions options;
    options.share_images = share;
    const models::PolicyLogprobs lp = models::policy_logprobs(policy, rows, options);
    // A loss that weights every token differently, as advantages do.
    const at::Tensor weights = at::linspace(-1.0, 2.0, lp.logprobs.size(0));
    (lp.logprobs * weights).sum().backward();
    std::vector<at::Tensor> out{lp.logprobs.detach().clone()};
    for (auto& [name, p] : params) out.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
    return out;
  };
  const auto shared = gradients(true), per_row = gradients(false);
  EXPECT_TRUE(at::allclose(shared[0], per_row[0], 1e-5, 1e-6)) << "logprobs";
  int vision_with_grad = 0;
  for (size_t k = 0; k < params.size(); ++k) {
    const at::Tensor& a = shared[k + 1];
    const at::Tensor& b = per_row[k + 1];
    const double scale = b.abs().max().item<double>();
    EXPECT_LE((a - b).abs().max().item<double>(), 1e-4 * scale + 1e-7) << params[k].first;
    vision_with_grad += params[k].first.find("visual") != std::string::npos && scale > 0;
  }
  std::cout << params.size() << " trainable tensors compared, " << vision_with_grad << " of them in the vision tower\n";
}

TEST(BatchedForward, VisionOncePerImageGivesThePerRowGradientsWithTheTowerTrainableAndFrozen) {
  auto& m = tiny_policy();
  // Two groups (G = 3 and 2) and a lone row: rows 0-2 share image 0, rows 3-4 share image 1.
  const std::vector<int> images{0, 0, 0, 1, 1, 2};
  const std::vector<std::vector<int64_t>> completions{{32, 2518, 12671, 13}, {785, 2168}, {40, 3460, 6303},
                                                      {9707, 13},            {32, 389}, {264, 14389, 151645}};
  std::vector<models::LogprobRow> rows;
  for (size_t i = 0; i < images.size(); ++i) rows.push_back(models::completion_row(m.prompts.at(images[i]), completions[i]));
  const models::PolicyBatch batch = models::make_policy_batch({rows[0].ids, rows[1].ids, rows[3].ids},
                                                              {rows[0].image, rows[1].image, rows[3].image}, at::kCPU);
  EXPECT_EQ(batch.image_index, (std::vector<int64_t>{0, 0, 1}));  // the tower sees two images, not three
  EXPECT_EQ(batch.vision_grid_thw.size(0), 2);
  EXPECT_EQ(batch.image_grid_thw.size(0), 3);

  m.policy->module().train();
  expect_shared_tower_gives_per_row_gradients(*m.policy, rows);
  // Frozen tower (train.freeze_vision): the projector and the language model still match.
  std::vector<at::Tensor> frozen;
  for (const auto& p : m.policy->module().named_parameters()) {
    if (p.key().find("visual.blocks") != std::string::npos || p.key().find("visual.patch_embed") != std::string::npos) {
      p.value().set_requires_grad(false);
      frozen.push_back(p.value());
    }
  }
  ASSERT_FALSE(frozen.empty());
  expect_shared_tower_gives_per_row_gradients(*m.policy, rows);
  for (at::Tensor& p : frozen) p.set_requires_grad(true);
  for (const auto& p : m.policy->module().parameters()) p.mutable_grad() = at::Tensor();
  m.policy->module().eval();
}

}  // namespace
}  // namespace balcap::test
