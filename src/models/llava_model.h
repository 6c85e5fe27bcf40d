#pragma once
// Private to src/models: LLaVA-1.5 as transformers' LlavaForConditionalGeneration (modeling_llava.py):
// `model` {vision_tower (CLIP), multi_modal_projector, language_model (the shared text decoder)} +
// lm_head. Parameter names are the transformers 5 in-memory names:
//   model.vision_tower.*, model.multi_modal_projector.linear_{1,2}.*, model.language_model.*, lm_head.weight
// (llava_weights.h maps the on-disk spellings onto them).
#include <torch/torch.h>

#include <cstdint>

#include "io/hf_config.h"
#include "models/clip_vision.h"
#include "models/text_decoder.h"

namespace balcap::models {

// linear_2(gelu(linear_1(features))): [.., vision hidden x feature layers] -> [.., text hidden].
class LlavaMultiModalProjectorImpl : public torch::nn::Module {
 public:
  explicit LlavaMultiModalProjectorImpl(const io::LlavaConfig& config);
  at::Tensor forward(const at::Tensor& features);

  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(LlavaMultiModalProjector);

class LlavaModelImpl : public torch::nn::Module {
 public:
  explicit LlavaModelImpl(const io::LlavaConfig& config);

  ClipVisionTransformer vision_tower{nullptr};
  LlavaMultiModalProjector multi_modal_projector{nullptr};
  TextDecoder language_model{nullptr};
};
TORCH_MODULE(LlavaModel);

class LlavaForConditionalGenerationImpl : public torch::nn::Module {
 public:
  explicit LlavaForConditionalGenerationImpl(const io::LlavaConfig& config);

  // pixel_values [N, 3, S, S] -> projected image features [N, T, text hidden], T = (S / patch)^2
  // ("default" strategy: CLS dropped) or + 1 ("full"), from the vision_feature_layer hidden states
  // (several layers are concatenated on the feature axis before the projector).
  at::Tensor image_features(const at::Tensor& pixel_values);

  // The token embeddings with the image features written over the image tokens, in order:
  // input_ids [B, S], pixel_values [N, 3, S, S] or undefined -> [B, S, hidden]. A count of image
  // tokens different from the number of image features -> balcap::Error naming both.
  // image_index (empty = one image per row image, in order): which of pixel_values' images each
  // row-order image is (PolicyBatch: vision once per image).
  at::Tensor embed_inputs(const at::Tensor& input_ids, const at::Tensor& pixel_values,
                          const std::vector<int64_t>& image_index = {});

  // hidden [.., hidden] -> logits [.., vocab] through lm_head (or the tied embedding).
  at::Tensor project(const at::Tensor& hidden);

  // input_ids [B, S], pixel_values as above, attention_mask [B, S] (1 = token) or undefined ->
  // logits [B, S, vocab]. Positions 0..S-1 on every row (transformers' default for right padding).
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& pixel_values = {},
                     const at::Tensor& attention_mask = {});

  const io::LlavaConfig& config() const { return config_; }

  LlavaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_word_embeddings

 private:
  io::LlavaConfig config_;
};
TORCH_MODULE(LlavaForConditionalGeneration);

}  // namespace balcap::models
