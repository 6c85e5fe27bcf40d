#include "models/text_decoder.h"

#include "core/error.h"
#include "models/activation_checkpoint.h"
#include "models/attention.h"
#include "models/rotary.h"

namespace balcap::models {

TextDecoderImpl::TextDecoderImpl(const io::TextDecoderConfig& config) : config_(config) {
  BALCAP_CHECK(config.rope_type == "default",
               "text decoder ({}): rope type '{}' is not supported. HINT: balcap supports the default RoPE "
               "(and Qwen2.5-VL's mrope); remove rope scaling from config.json or use a supported checkpoint.",
               config.model_type, config.rope_type);
  BALCAP_CHECK(config.vocab_size > 0 && config.num_hidden_layers > 0,
               "text decoder ({}): vocab_size {} and num_hidden_layers {} must be positive. HINT: check config.json.",
               config.model_type, config.vocab_size, config.num_hidden_layers);
  if (!config.mrope_section.empty()) check_mrope_section(config.mrope_section, config.head_dim);
  inv_freq_ = rope_inv_freq(config.head_dim, config.rope_theta);

  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(config.vocab_size, config.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) layers->push_back(DecoderLayer(config));
  norm = register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

at::Tensor TextDecoderImpl::embed(const at::Tensor& input_ids) {
  if (input_ids.numel() > 0) {
    const int64_t lo = input_ids.min().item<int64_t>(), hi = input_ids.max().item<int64_t>();
    BALCAP_CHECK(lo >= 0 && hi < config_.vocab_size,
                 "text decoder: token id {} outside the vocabulary [0, {}). HINT: the tokenizer does not match "
                 "the model checkpoint.",
                 lo < 0 ? lo : hi, config_.vocab_size);
  }
  return embed_tokens->forward(input_ids);
}

std::pair<at::Tensor, at::Tensor> TextDecoderImpl::rotary(const at::Tensor& position_ids, at::ScalarType dtype) const {
  if (!inv_freq_on_device_.defined() || inv_freq_on_device_.device() != position_ids.device()) {
    inv_freq_on_device_ = inv_freq_.to(position_ids.device());
  }
  const at::Tensor& inv_freq = inv_freq_on_device_;
  if (!config_.mrope_section.empty()) return mrope_cos_sin(position_ids, inv_freq, config_.mrope_section, dtype);
  BALCAP_CHECK(position_ids.dim() == 2,
               "text decoder ({}): 1-D RoPE takes [batch, seq] positions, got {}. HINT: 3-D positions need "
               "mrope_section in the config (Qwen2.5-VL).",
               config_.model_type, c10::str(position_ids.sizes()));
  return rope_cos_sin(position_ids, inv_freq, dtype);
}

at::Tensor TextDecoderImpl::forward(const at::Tensor& inputs_embeds, const at::Tensor& cos, const at::Tensor& sin,
                                    const at::Tensor& mask, KvCache* cache, int64_t start_pos,
                                    const at::Tensor& write_index) {
  at::Tensor h = inputs_embeds;  // [B, S, hidden]
  const bool recompute = grad_checkpointing_ && is_training() && cache == nullptr && at::GradMode::is_enabled();
  for (size_t i = 0; i < layers->size(); ++i) {
    auto* layer = layers[i]->as<DecoderLayerImpl>();
    if (recompute) {
      // Only h is kept per layer; cos/sin/mask need no gradient.
      auto fn = [layer, cos, sin, mask](const at::Tensor& x) { return layer->forward(x, cos, sin, mask); };
      h = checkpointed(fn, h, layer->parameters());
    } else {
      h = layer->forward(h, cos, sin, mask, cache, static_cast<int64_t>(i), start_pos, write_index);
    }
  }
  return norm->forward(h);
}

at::Tensor TextDecoderImpl::forward_padded(const at::Tensor& inputs_embeds, const at::Tensor& attention_mask) {
  const int64_t B = inputs_embeds.size(0), S = inputs_embeds.size(1);
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(inputs_embeds.device());
  at::Tensor positions, mask;  // positions [B, S]; mask undefined = causal
  if (attention_mask.defined() && !attention_mask.all().item<bool>()) {
    const at::Tensor real = attention_mask.to(longs);
    // Padding gets position 1 (HF generate's masked_fill): any finite value works, it is never attended.
    positions = (real.cumsum(1) - 1).masked_fill(real.eq(0), 1);
    mask = attention_mask_for(real, S, 0);  // [B, 1, S, S]: causal AND real key
  } else {
    positions = at::arange(S, longs).view({1, S}).expand({B, S});
  }
  const auto [cos, sin] = rotary(positions, inputs_embeds.scalar_type());  // [B, S, D]
  return forward(inputs_embeds, cos, sin, mask);                          // [B, S, E]
}

}  // namespace balcap::models
