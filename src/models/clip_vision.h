#pragma once
// Private to src/models: the CLIP vision tower as transformers' CLIPVisionModel (modeling_clip.py), the
// vision half of LLaVA-1.5. Parameter names are transformers' in-memory ones (under LLaVA's
// model.vision_tower.):
//   embeddings.{class_embedding, patch_embedding.weight, position_embedding.weight}, pre_layrnorm.*,
//   encoder.layers.{i}.{self_attn.{q,k,v,out}_proj, layer_norm1, mlp.{fc1,fc2}, layer_norm2}.*, post_layernorm.*
// post_layernorm only pools the CLS token, which LLaVA never uses; it is kept so that checkpoints
// load and save unchanged.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "io/hf_config.h"

namespace balcap::models {

// Patch conv (no bias) + CLS token + learned positions: pixel_values [N, C, S, S] -> [N, 1 + (S/p)^2, E].
class ClipVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipVisionEmbeddingsImpl(const io::ClipVisionConfig& config);
  at::Tensor forward(const at::Tensor& pixel_values);

  at::Tensor class_embedding;  // [E]
  torch::nn::Conv2d patch_embedding{nullptr};
  torch::nn::Embedding position_embedding{nullptr};  // [1 + (S/p)^2, E]

 private:
  int64_t image_size_;
};
TORCH_MODULE(ClipVisionEmbeddings);

// Bidirectional multi-head attention (no mask), scale head_dim^-0.5, q/k/v/out projections with bias.
class ClipAttentionImpl : public torch::nn::Module {
 public:
  explicit ClipAttentionImpl(const io::ClipVisionConfig& config);
  at::Tensor forward(const at::Tensor& x);  // [N, T, E] -> [N, T, E]

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  int64_t heads_;
};
TORCH_MODULE(ClipAttention);

// fc2(act(fc1(x))), act = quick_gelu (x * sigmoid(1.702 x), CLIP's) or exact gelu.
class ClipMlpImpl : public torch::nn::Module {
 public:
  explicit ClipMlpImpl(const io::ClipVisionConfig& config);
  at::Tensor forward(const at::Tensor& x);  // [N, T, E] -> [N, T, E]

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};

 private:
  bool quick_gelu_;
};
TORCH_MODULE(ClipMlp);

// Pre-LN block: x += self_attn(layer_norm1(x)); x += mlp(layer_norm2(x)).
class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderLayerImpl(const io::ClipVisionConfig& config);
  at::Tensor forward(const at::Tensor& x);  // [N, T, E] -> [N, T, E]

  ClipAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr};
  ClipMlp mlp{nullptr};
  torch::nn::LayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

class ClipVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipVisionTransformerImpl(const io::ClipVisionConfig& config);

  // pixel_values [N, C, S, S] -> transformers' hidden_states[layer] for each of `layers` (each
  // [N, 1 + (S/p)^2, E]): index 0 is the embeddings after pre_layrnorm, index k the output of
  // encoder layer k - 1, negative indices count from num_hidden_layers + 1 (so -2 is the output of the
  // second-to-last layer). Only the layers up to the deepest one asked for run. An index outside
  // [-(L + 1), L] -> balcap::Error.
  std::vector<at::Tensor> hidden_states(const at::Tensor& pixel_values, const std::vector<int64_t>& layers);

  ClipVisionEmbeddings embeddings{nullptr};
  torch::nn::LayerNorm pre_layrnorm{nullptr};  // transformers' spelling
  std::shared_ptr<torch::nn::Module> encoder;  // holds `layers` only, for the names encoder.layers.{i}.*
  torch::nn::ModuleList layers{nullptr};       // ClipEncoderLayer x num_hidden_layers
  torch::nn::LayerNorm post_layernorm{nullptr};  // unused by LLaVA (pools CLS only)

 private:
  int64_t num_layers_;
};
TORCH_MODULE(ClipVisionTransformer);

}  // namespace balcap::models
