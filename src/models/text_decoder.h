#pragma once
// The text decoder shared by Qwen2, Qwen2.5-VL (language_model) and LLaMA: embed_tokens, layers, norm
// (no lm_head: the causal-LM wrappers own it, tied or not). Parameter names are transformers':
//   embed_tokens.weight, layers.{i}.self_attn.{q,k,v,o}_proj.*, layers.{i}.mlp.{gate,up,down}_proj.*,
//   layers.{i}.{input,post_attention}_layernorm.weight, norm.weight
#include <torch/torch.h>

#include <cstdint>
#include <utility>

#include "io/hf_config.h"
#include "models/decoder_layer.h"
#include "models/rms_norm.h"

namespace balcap::models {

class KvCache;

class TextDecoderImpl : public torch::nn::Module {
 public:
  // Refuses rope types other than "default", activations other than silu, and (when set) an
  // mrope_section that does not sum to head_dim / 2 -- balcap::Error with a HINT.
  explicit TextDecoderImpl(const io::TextDecoderConfig& config);

  // input_ids: [B, S] int64 -> [B, S, hidden] (embedding rows). Checks the ids against the vocabulary
  // (a clear error instead of an index crash; costs one host sync): decode loops with ids the model
  // produced itself may call embed_tokens->forward directly.
  at::Tensor embed(const at::Tensor& input_ids);

  // cos/sin [B, S, head_dim] for position_ids in the activation `dtype`: [3, B, S] (M-RoPE; needs
  // mrope_section in the config) or [B, S] (1-D RoPE; for an M-RoPE model the same positions on all axes).
  std::pair<at::Tensor, at::Tensor> rotary(const at::Tensor& position_ids, at::ScalarType dtype) const;

  // inputs_embeds: [B, S, hidden]; cos, sin: [B, S, head_dim]; mask: undefined = causal (see
  // AttentionImpl::forward); cache/start_pos: decode from position start_pos -> [B, S, hidden] after `norm`.
  // write_index: the static-shape decode step (see AttentionImpl::forward).
  at::Tensor forward(const at::Tensor& inputs_embeds, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& mask = {}, KvCache* cache = nullptr, int64_t start_pos = 0,
                     const at::Tensor& write_index = {});

  // The full forward over padded rows with 1-D positions (text LMs, LLaVA): inputs_embeds [B, S, E],
  // attention_mask [B, S] (1 = token; left or right padding) or undefined -> [B, S, E] after `norm`.
  // Tokens take positions 0, 1, ... counting real tokens only (HF generate's cumsum - 1), padding
  // position 1; causal attention, AND real keys when some row is padded.
  at::Tensor forward_padded(const at::Tensor& inputs_embeds, const at::Tensor& attention_mask);

  const io::TextDecoderConfig& config() const { return config_; }

  // Gradient checkpointing of the decoder layers (train.grad_checkpointing): in training mode with
  // grad enabled and no KV cache, each layer keeps only its input and is recomputed in backward.
  void set_gradient_checkpointing(bool on) { grad_checkpointing_ = on; }
  bool gradient_checkpointing() const { return grad_checkpointing_; }

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

 private:
  io::TextDecoderConfig config_;
  at::Tensor inv_freq_;  // [head_dim / 2] float32 on CPU (not a parameter: HF does not save it)
  // inv_freq_ on the device of the last positions seen: no host-to-device copy per step (a copy from
  // pageable memory cannot be captured in a CUDA graph).
  mutable at::Tensor inv_freq_on_device_;
  bool grad_checkpointing_ = false;
};
TORCH_MODULE(TextDecoder);

}  // namespace balcap::models
