// LLaVA-1.5 composition (see llava_model.h). Spec: transformers' LlavaMultiModalProjector,
// LlavaModel.get_image_features / get_placeholder_mask / forward, LlavaForConditionalGeneration.forward.
#include "models/llava_model.h"

#include "core/error.h"
#include "models/head_projection.h"

namespace balcap::models {

LlavaMultiModalProjectorImpl::LlavaMultiModalProjectorImpl(const io::LlavaConfig& config) {
  BALCAP_CHECK(config.projector_hidden_act == "gelu",
               "config.json: projector_hidden_act '{}' is not supported. HINT: LLaVA-1.5 uses \"gelu\".",
               config.projector_hidden_act);
  const auto in = config.vision.hidden_size * static_cast<int64_t>(config.vision_feature_layers.size());
  const int64_t out = config.text.hidden_size;
  linear_1 = register_module(
      "linear_1", torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(config.multimodal_projector_bias)));
  linear_2 = register_module(
      "linear_2", torch::nn::Linear(torch::nn::LinearOptions(out, out).bias(config.multimodal_projector_bias)));
}

at::Tensor LlavaMultiModalProjectorImpl::forward(const at::Tensor& features) {
  return linear_2->forward(at::gelu(linear_1->forward(features)));  // exact (erf) gelu, ACT2FN["gelu"]
}

LlavaModelImpl::LlavaModelImpl(const io::LlavaConfig& config) {
  vision_tower = register_module("vision_tower", ClipVisionTransformer(config.vision));
  multi_modal_projector = register_module("multi_modal_projector", LlavaMultiModalProjector(config));
  language_model = register_module("language_model", TextDecoder(config.text));
}

LlavaForConditionalGenerationImpl::LlavaForConditionalGenerationImpl(const io::LlavaConfig& config)
    : config_(config) {
  model = register_module("model", LlavaModel(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head",
        torch::nn::Linear(torch::nn::LinearOptions(config.text.hidden_size, config.text.vocab_size).bias(false)));
  }
}

at::Tensor LlavaForConditionalGenerationImpl::image_features(const at::Tensor& pixel_values) {
  std::vector<at::Tensor> states = model->vision_tower->hidden_states(pixel_values, config_.vision_feature_layers);
  if (config_.vision_feature_select_strategy == "default") {
    for (at::Tensor& s : states) s = s.slice(1, 1);  // drop CLS: [N, T, E_v]
  }
  return model->multi_modal_projector->forward(states.size() == 1 ? states.front() : at::cat(states, -1));
}

at::Tensor LlavaForConditionalGenerationImpl::embed_inputs(const at::Tensor& input_ids, const at::Tensor& pixel_values,
                                                           const std::vector<int64_t>& image_index) {
  at::Tensor embeds = model->language_model->embed(input_ids);       // [B, S, E]
  const at::Tensor is_image = input_ids.eq(config_.image_token_index);  // [B, S]
  const int64_t tokens = is_image.sum().item<int64_t>();
  if (!pixel_values.defined()) {
    BALCAP_CHECK(tokens == 0,
                 "the prompt has {} <image> tokens (id {}) but no image was given. HINT: pass the image, or "
                 "remove the image placeholders from the prompt.",
                 tokens, config_.image_token_index);
    return embeds;
  }
  at::Tensor features = image_features(pixel_values).to(embeds.scalar_type());  // [N, T, E]
  if (!image_index.empty()) features = features.index_select(0, at::tensor(image_index, at::kLong).to(features.device()));
  BALCAP_CHECK(tokens == features.size(0) * features.size(1),
               "image features and image tokens do not match: {} <image> tokens (id {}) in the prompt, {} image "
               "features ({} images x {}). HINT: expand each <image> to {} tokens (the processor's "
               "(crop_size / patch_size)^2) with the checkpoint's own processor settings.",
               tokens, config_.image_token_index, features.size(0) * features.size(1), features.size(0),
               features.size(1), features.size(1));
  // Row-major over [B, S]: the k-th image token gets feature row k (HF masked_scatter).
  return embeds.masked_scatter(is_image.unsqueeze(-1).expand_as(embeds), features.reshape({-1, embeds.size(-1)}));
}

at::Tensor LlavaForConditionalGenerationImpl::project(const at::Tensor& hidden) {
  return project_head(hidden, lm_head ? lm_head->weight : model->language_model->embed_tokens->weight);
}

at::Tensor LlavaForConditionalGenerationImpl::forward(const at::Tensor& input_ids, const at::Tensor& pixel_values,
                                                      const at::Tensor& attention_mask) {
  BALCAP_CHECK(input_ids.dim() == 2, "input_ids must be [batch, sequence], got {} dims. HINT: add a batch dim.",
               input_ids.dim());
  const at::Tensor embeds = embed_inputs(input_ids, pixel_values);                       // [B, S, E]
  return project(model->language_model->forward_padded(embeds, attention_mask));  // [B, S, V]
}

}  // namespace balcap::models
