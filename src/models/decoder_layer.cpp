#include "models/decoder_layer.h"

namespace balcap::models {

DecoderLayerImpl::DecoderLayerImpl(const io::TextDecoderConfig& c) {
  AttentionOptions attn;
  attn.hidden_size = c.hidden_size;
  attn.num_heads = c.num_attention_heads;
  attn.num_kv_heads = c.num_key_value_heads;
  attn.head_dim = c.head_dim;
  attn.qkv_bias = c.qkv_bias;
  attn.o_proj_bias = c.o_proj_bias;
  SwiGluMlpOptions mlp_options{c.hidden_size, c.intermediate_size, c.mlp_bias, c.hidden_act};
  self_attn = register_module("self_attn", Attention(attn));
  mlp = register_module("mlp", SwiGluMlp(mlp_options));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                     const at::Tensor& mask, KvCache* cache, int64_t layer, int64_t start_pos,
                                     const at::Tensor& write_index) {
  const auto h =
      x + self_attn->forward(input_layernorm->forward(x), cos, sin, mask, cache, layer, start_pos, write_index);
  return h + mlp->forward(post_attention_layernorm->forward(h));
}

}  // namespace balcap::models
