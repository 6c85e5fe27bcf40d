#pragma once
// Private to src/models: One pre-norm decoder block (Qwen2DecoderLayer / Qwen2_5_VLDecoderLayer / LlamaDecoderLayer):
//   h = x + self_attn(input_layernorm(x));  y = h + mlp(post_attention_layernorm(h))
#include <torch/torch.h>

#include <cstdint>

#include "io/hf_config.h"
#include "models/attention.h"
#include "models/mlp.h"
#include "models/rms_norm.h"

namespace balcap::models {

class KvCache;

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const io::TextDecoderConfig& config);

  // x: [B, S, hidden] -> [B, S, hidden]; arguments as AttentionImpl::forward.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask = {},
                     KvCache* cache = nullptr, int64_t layer = 0, int64_t start_pos = 0,
                     const at::Tensor& write_index = {});

  Attention self_attn{nullptr};
  SwiGluMlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr};
  RMSNorm post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

}  // namespace balcap::models
