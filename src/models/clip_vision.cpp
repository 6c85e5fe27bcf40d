// The CLIP vision tower (see clip_vision.h). Spec: transformers' CLIPVisionEmbeddings,
// CLIPAttention (eager: softmax in float32), CLIPMLP, CLIPEncoderLayer, CLIPVisionModel.forward.
#include "models/clip_vision.h"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "core/error.h"

namespace balcap::models {
namespace {

torch::nn::Linear linear(int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out)); }

torch::nn::LayerNorm layer_norm(const io::ClipVisionConfig& config) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

}  // namespace

ClipVisionEmbeddingsImpl::ClipVisionEmbeddingsImpl(const io::ClipVisionConfig& config)
    : image_size_(config.image_size) {
  class_embedding = register_parameter("class_embedding", at::zeros({config.hidden_size}));
  patch_embedding = register_module(
      "patch_embedding", torch::nn::Conv2d(torch::nn::Conv2dOptions(config.num_channels, config.hidden_size,
                                                                    config.patch_size)
                                               .stride(config.patch_size)
                                               .bias(false)));
  const int64_t side = config.image_size / config.patch_size;
  position_embedding =
      register_module("position_embedding", torch::nn::Embedding(side * side + 1, config.hidden_size));
}

at::Tensor ClipVisionEmbeddingsImpl::forward(const at::Tensor& pixel_values) {
  BALCAP_CHECK(pixel_values.dim() == 4 && pixel_values.size(2) == image_size_ && pixel_values.size(3) == image_size_,
               "CLIP vision tower: pixel_values [{}] are not [N, C, {}, {}]. HINT: process the image with the "
               "checkpoint's CLIPImageProcessor (crop_size = vision_config.image_size).",
               fmt::join(pixel_values.sizes(), ", "), image_size_, image_size_);
  const at::Tensor weight = patch_embedding->weight;
  const at::Tensor patches = patch_embedding->forward(pixel_values.to(weight.scalar_type()));  // [N, E, s, s]
  const at::Tensor tokens = patches.flatten(2).transpose(1, 2);                                 // [N, s*s, E]
  const at::Tensor cls = class_embedding.to(tokens.scalar_type()).expand({tokens.size(0), 1, -1});
  return at::cat({cls, tokens}, 1) + position_embedding->weight;  // [N, 1 + s*s, E]
}

ClipAttentionImpl::ClipAttentionImpl(const io::ClipVisionConfig& config) : heads_(config.num_attention_heads) {
  q_proj = register_module("q_proj", linear(config.hidden_size, config.hidden_size));
  k_proj = register_module("k_proj", linear(config.hidden_size, config.hidden_size));
  v_proj = register_module("v_proj", linear(config.hidden_size, config.hidden_size));
  out_proj = register_module("out_proj", linear(config.hidden_size, config.hidden_size));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x) {
  const int64_t N = x.size(0), T = x.size(1), E = x.size(2), D = E / heads_;
  auto split = [&](const at::Tensor& t) { return t.view({N, T, heads_, D}).transpose(1, 2); };  // [N, H, T, D]
  const at::Tensor q = split(q_proj->forward(x)), k = split(k_proj->forward(x)), v = split(v_proj->forward(x));
  // Eager attention's float32 softmax; in float32 SDPA's math path is the same computation.
  at::Tensor out;
  if (x.scalar_type() == at::kFloat) {
    out = at::scaled_dot_product_attention(q, k, v);
  } else {
    const at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(D)));
    out = at::matmul(at::softmax(scores, -1, at::kFloat).to(q.scalar_type()), v);
  }
  return out_proj->forward(out.transpose(1, 2).reshape({N, T, E}));
}

ClipMlpImpl::ClipMlpImpl(const io::ClipVisionConfig& config) {
  BALCAP_CHECK(config.hidden_act == "quick_gelu" || config.hidden_act == "gelu",
               "config.json: vision_config.hidden_act '{}' is not supported. HINT: CLIP towers use "
               "\"quick_gelu\" (LLaVA-1.5) or \"gelu\".",
               config.hidden_act);
  quick_gelu_ = config.hidden_act == "quick_gelu";
  fc1 = register_module("fc1", linear(config.hidden_size, config.intermediate_size));
  fc2 = register_module("fc2", linear(config.intermediate_size, config.hidden_size));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) {
  const at::Tensor h = fc1->forward(x);
  return fc2->forward(quick_gelu_ ? h * at::sigmoid(1.702 * h) : at::gelu(h));
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const io::ClipVisionConfig& config) {
  self_attn = register_module("self_attn", ClipAttention(config));
  layer_norm1 = register_module("layer_norm1", layer_norm(config));
  mlp = register_module("mlp", ClipMlp(config));
  layer_norm2 = register_module("layer_norm2", layer_norm(config));
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x) {
  const at::Tensor h = x + self_attn->forward(layer_norm1->forward(x));
  return h + mlp->forward(layer_norm2->forward(h));
}

ClipVisionTransformerImpl::ClipVisionTransformerImpl(const io::ClipVisionConfig& config)
    : num_layers_(config.num_hidden_layers) {
  embeddings = register_module("embeddings", ClipVisionEmbeddings(config));
  pre_layrnorm = register_module("pre_layrnorm", layer_norm(config));
  encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  layers = encoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) layers->push_back(ClipEncoderLayer(config));
  post_layernorm = register_module("post_layernorm", layer_norm(config));
}

std::vector<at::Tensor> ClipVisionTransformerImpl::hidden_states(const at::Tensor& pixel_values,
                                                                 const std::vector<int64_t>& layers_asked) {
  std::vector<int64_t> index;  // each asked layer as 0..L
  for (int64_t layer : layers_asked) {
    BALCAP_CHECK(layer >= -(num_layers_ + 1) && layer <= num_layers_,
                 "config.json: vision_feature_layer {} is outside the {} hidden states of a {}-layer vision "
                 "tower. HINT: use an index in [-{}, {}] (LLaVA-1.5: -2).",
                 layer, num_layers_ + 1, num_layers_, num_layers_ + 1, num_layers_);
    index.push_back(layer < 0 ? layer + num_layers_ + 1 : layer);
  }
  const int64_t deepest = index.empty() ? 0 : *std::max_element(index.begin(), index.end());
  std::vector<at::Tensor> states{pre_layrnorm->forward(embeddings->forward(pixel_values))};
  for (int64_t i = 0; i < deepest; ++i) states.push_back(layers[i]->as<ClipEncoderLayerImpl>()->forward(states.back()));
  std::vector<at::Tensor> out;
  for (int64_t i : index) out.push_back(states[static_cast<size_t>(i)]);
  return out;
}

}  // namespace balcap::models
