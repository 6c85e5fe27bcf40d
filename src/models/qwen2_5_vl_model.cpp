// Qwen2.5-VL composition (see qwen2_5_vl_model.h). Spec: transformers'
// Qwen2_5_VLModel.forward / get_placeholder_mask / Qwen2_5_VLForConditionalGeneration.forward.
#include "models/qwen2_5_vl_model.h"

#include "models/policy.h"

#include "core/error.h"
#include "models/head_projection.h"
#include "models/attention.h"
#include "models/qwen2_5_vl_rope_index.h"

namespace balcap::models {

Qwen2_5_VLModelImpl::Qwen2_5_VLModelImpl(const io::Qwen2_5_VLConfig& config) {
  BALCAP_CHECK(config.vision.out_hidden_size == config.text.hidden_size,
               "config.json: vision_config.out_hidden_size {} differs from the text hidden_size {}. "
               "HINT: the merged image features are written into the text embeddings; both must match.",
               config.vision.out_hidden_size, config.text.hidden_size);
  visual = register_module("visual", Qwen2_5_VisionTransformer(config.vision));
  language_model = register_module("language_model", TextDecoder(config.text));
}

Qwen2_5_VLForConditionalGenerationImpl::Qwen2_5_VLForConditionalGenerationImpl(const io::Qwen2_5_VLConfig& config)
    : config_(config) {
  model = register_module("model", Qwen2_5_VLModel(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head",
        torch::nn::Linear(torch::nn::LinearOptions(config.text.hidden_size, config.text.vocab_size).bias(false)));
  }
}

at::Tensor Qwen2_5_VLForConditionalGenerationImpl::embed_inputs(const at::Tensor& input_ids,
                                                                const at::Tensor& pixel_values,
                                                                const at::Tensor& image_grid_thw,
                                                                const std::vector<int64_t>& image_index) {
  at::Tensor embeds = model->language_model->embed(input_ids);     // [B, S, E]
  const at::Tensor is_pad = input_ids.eq(config_.image_token_id);  // [B, S]
  const int64_t pads = is_pad.sum().item<int64_t>();
  if (!pixel_values.defined()) {
    BALCAP_CHECK(pads == 0,
                 "the prompt has {} <|image_pad|> tokens (id {}) but no image was given. "
                 "HINT: pass the image, or remove the image placeholders from the prompt.",
                 pads, config_.image_token_id);
    return embeds;
  }
  BALCAP_CHECK(image_grid_thw.defined(), "pixel_values given without image_grid_thw. HINT: pass both.");
  const int64_t merge = config_.vision.spatial_merge_size * config_.vision.spatial_merge_size;
  std::vector<int64_t> tokens;  // merged tokens of each image the tower runs on
  const at::Tensor grid = image_grid_thw.to(at::kCPU, at::kLong);
  for (int64_t i = 0; i < grid.size(0); ++i) tokens.push_back(grid[i].prod().item<int64_t>() / merge);
  const at::Tensor features = features_in_row_order(
      model->visual->forward(pixel_values, image_grid_thw).to(embeds.scalar_type()), tokens, image_index);
  BALCAP_CHECK(pads == features.size(0),
               "image features and image tokens do not match: {} <|image_pad|> tokens (id {}) in the prompt, "
               "{} image features from image_grid_thw. HINT: expand each image placeholder to "
               "grid_t*grid_h*grid_w/{} tokens with the same processor settings as the pixels.",
               pads, config_.image_token_id, features.size(0),
               config_.vision.spatial_merge_size * config_.vision.spatial_merge_size);
  // Row-major over [B, S]: the k-th pad token gets feature row k (HF masked_scatter).
  return embeds.masked_scatter(is_pad.unsqueeze(-1).expand_as(embeds), features);
}

at::Tensor Qwen2_5_VLForConditionalGenerationImpl::project(const at::Tensor& hidden) {
  return project_head(hidden, lm_head ? lm_head->weight : model->language_model->embed_tokens->weight);
}

at::Tensor Qwen2_5_VLForConditionalGenerationImpl::forward(const at::Tensor& input_ids, const at::Tensor& pixel_values,
                                                           const at::Tensor& image_grid_thw,
                                                           const at::Tensor& attention_mask) {
  BALCAP_CHECK(input_ids.dim() == 2, "input_ids must be [batch, sequence], got {} dims. HINT: add a batch dim.",
               input_ids.dim());
  const at::Tensor embeds = embed_inputs(input_ids, pixel_values, image_grid_thw);  // [B, S, E]
  const RopeIndex rope =
      qwen2_5_vl_rope_index(input_ids, pixel_values.defined() ? image_grid_thw : at::Tensor(), attention_mask, config_);
  const auto [cos, sin] =
      model->language_model->rotary(rope.position_ids.to(embeds.device()), embeds.scalar_type());  // [B, S, D]
  // Causal unless some token is padding; then causal AND real key.
  at::Tensor mask;
  if (attention_mask.defined() && !attention_mask.all().item<bool>()) {
    mask = attention_mask_for(attention_mask.to(embeds.device()), input_ids.size(1), 0);
  }
  const at::Tensor hidden = model->language_model->forward(embeds, cos, sin, mask);  // [B, S, E]
  return project(hidden);                                                            // [B, S, V]
}

}  // namespace balcap::models
