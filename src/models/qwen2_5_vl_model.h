#pragma once
// Private to src/models: Qwen2.5-VL as transformers' Qwen2_5_VLForConditionalGeneration: `model` {visual, language_model}
// + lm_head. Parameter names are the in-memory transformers v5 names:
//   model.visual.*, model.language_model.*, lm_head.weight
// With tie_word_embeddings (3B) there is no lm_head module: logits use embed_tokens.weight, so
// named_parameters() lists exactly the tensors a tied checkpoint holds on disk.
#include <torch/torch.h>

#include <cstdint>

#include "io/hf_config.h"
#include "models/qwen2_5_vl_vision.h"
#include "models/text_decoder.h"

namespace balcap::models {

class Qwen2_5_VLModelImpl : public torch::nn::Module {
 public:
  explicit Qwen2_5_VLModelImpl(const io::Qwen2_5_VLConfig& config);

  Qwen2_5_VisionTransformer visual{nullptr};
  TextDecoder language_model{nullptr};
};
TORCH_MODULE(Qwen2_5_VLModel);

class Qwen2_5_VLForConditionalGenerationImpl : public torch::nn::Module {
 public:
  // Sizes come from the io config (validated there and by the submodules).
  explicit Qwen2_5_VLForConditionalGenerationImpl(const io::Qwen2_5_VLConfig& config);

  // input_ids [B, S] int64, with one <|image_pad|> per merged image feature;
  // pixel_values [N, 1176] and image_grid_thw [n_images, 3] int64 (both undefined for text only);
  // attention_mask [B, S] (1 = token, 0 = left/right padding) or undefined (all tokens).
  // -> logits [B, S, vocab] in the weights' dtype.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& pixel_values = {},
                     const at::Tensor& image_grid_thw = {}, const at::Tensor& attention_mask = {});

  // The token embeddings with the vision features scattered into the <|image_pad|> positions:
  // [B, S, hidden]. pixel_values/image_grid_thw: the images the tower runs on; image_index (empty =
  // one per row image, in order): which of them each row-order image is (PolicyBatch: vision once
  // per image). A pad-token count different from the number of features -> balcap::Error naming both.
  at::Tensor embed_inputs(const at::Tensor& input_ids, const at::Tensor& pixel_values,
                          const at::Tensor& image_grid_thw, const std::vector<int64_t>& image_index = {});

  // hidden [B, S, hidden] -> logits [B, S, vocab] through lm_head (or the tied embedding).
  at::Tensor project(const at::Tensor& hidden);

  const io::Qwen2_5_VLConfig& config() const { return config_; }
  bool tied() const { return config_.tie_word_embeddings; }

  Qwen2_5_VLModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // hidden -> vocab, no bias; null when tied

 private:
  io::Qwen2_5_VLConfig config_;
};
TORCH_MODULE(Qwen2_5_VLForConditionalGeneration);

}  // namespace balcap::models
