// End-to-end Qwen2.5-VL parity against transformers 5.24 (float32, CPU) on the tiny random
// checkpoints of ref_models.py, loaded from disk through load_qwen2_5_vl in every layout:
// logits max |diff| <= 1e-4 x logit std and the same argmax at every position; vision-tower
// output and M-RoPE position ids compared separately so a failure points at the part.
#include <gtest/gtest.h>

#include <iostream>
#include <map>

#include "core/error.h"
#include "models/qwen2_5_vl_rope_index.h"
#include "models/qwen2_5_vl_weights.h"
#include "models_reference.h"

namespace balcap {
namespace {

models::Qwen2_5_VLCheckpoint& cached_model(const std::string& name) {
  static std::map<std::string, models::Qwen2_5_VLCheckpoint> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, models::load_qwen2_5_vl(test::reference_model_dir(name))).first;
  return it->second;
}

// Logits of `model_name` on case `entry` against the reference.
void expect_case_matches(const nlohmann::json& entry, const std::string& model_name) {
  SCOPED_TRACE(entry["name"].get<std::string>() + " on " + model_name);
  torch::NoGradGuard no_grad;
  auto& checkpoint = cached_model(model_name);
  auto c = test::load_case(entry);
  const at::Tensor ids = c["input_ids"].unsqueeze(0);
  const bool has_images = c.count("pixel_values") > 0;
  const at::Tensor pixels = has_images ? c["pixel_values"] : at::Tensor();
  const at::Tensor grid = has_images ? c["image_grid_thw"] : at::Tensor();

  if (has_images) {  // the vision tower alone
    const at::Tensor vision = checkpoint.model->model->visual->forward(pixels, grid);
    const double diff = (vision - c["vision_output"]).abs().max().item<double>();
    const double scale = c["vision_output"].std().item<double>();
    std::cout << "vision " << entry["name"].get<std::string>() << " " << vision.sizes() << ": max diff " << diff
              << " (std " << scale << ")\n";
    EXPECT_LE(diff, 1e-4 * scale);
  }
  const models::RopeIndex rope = models::qwen2_5_vl_rope_index(ids, grid, c["attention_mask"].unsqueeze(0), checkpoint.config);
  EXPECT_TRUE(at::equal(rope.position_ids, c["position_ids"])) << "position ids differ";
  EXPECT_TRUE(at::equal(rope.rope_deltas, c["rope_deltas"])) << "rope deltas differ";

  const at::Tensor logits = checkpoint.model->forward(ids, pixels, grid)[0];  // [S, V]
  const at::Tensor& expected = c["logits"];
  ASSERT_EQ(logits.sizes(), expected.sizes());
  const double diff = (logits - expected).abs().max().item<double>();
  const double std = expected.std().item<double>();
  const int64_t argmax_diff = logits.argmax(-1).ne(c["top1"]).sum().item<int64_t>();
  std::cout << "logits " << entry["name"].get<std::string>() << " on " << model_name << " [" << logits.size(0) << ", "
            << logits.size(1) << "]: max diff " << diff << " = " << diff / std << " x std; " << argmax_diff
            << " argmax differences\n";
  EXPECT_LE(diff, 1e-4 * std);
  EXPECT_EQ(argmax_diff, 0);
}

TEST(Qwen2_5_VLParity, LogitsMatchTransformersForEveryReferenceCase) {
  for (const auto& entry : test::models_manifest()["cases"]) expect_case_matches(entry, entry["model"]);
}

TEST(Qwen2_5_VLParity, FlatV4ConfigCheckpointGivesTheSameLogits) {
  expect_case_matches(test::find_case("rocket_untied"), "untied_legacy");
  EXPECT_EQ(cached_model("untied_legacy").layout, models::WeightLayout::hub);
}

TEST(Qwen2_5_VLParity, V5TensorNamesGiveTheSameLogits) {
  expect_case_matches(test::find_case("tall_untied"), "untied_v5names");
  EXPECT_EQ(cached_model("untied_v5names").layout, models::WeightLayout::v5);
}

TEST(Qwen2_5_VLParity, TiedCheckpointHasNoLmHeadAndUsesTheEmbedding) {
  auto& tied = cached_model("tied");
  EXPECT_TRUE(tied.config.tie_word_embeddings);
  EXPECT_FALSE(tied.model->lm_head);
  auto& untied = cached_model("untied");
  ASSERT_TRUE(untied.model->lm_head);
  EXPECT_FALSE(at::equal(untied.model->lm_head->weight, untied.model->model->language_model->embed_tokens->weight));
}

TEST(Qwen2_5_VLParity, ImagePadCountDifferentFromFeaturesNamesBothNumbers) {
  torch::NoGradGuard no_grad;
  auto& checkpoint = cached_model("tied");
  auto c = test::load_case(test::find_case("odd"));
  at::Tensor ids = c["input_ids"].clone();
  const int64_t first_pad = ids.eq(checkpoint.config.image_token_id).nonzero()[0][0].item<int64_t>();
  ids = at::cat({ids.slice(0, 0, first_pad), ids.slice(0, first_pad + 1)}).unsqueeze(0);  // one pad fewer
  try {
    checkpoint.model->embed_inputs(ids, c["pixel_values"], c["image_grid_thw"]);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("14 <|image_pad|> tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("15 image features"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace balcap
