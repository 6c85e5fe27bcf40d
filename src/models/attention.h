#pragma once
// Private to src/models: Causal self-attention of the text decoders (Qwen2 / Qwen2.5-VL / LLaMA): q/k/v/o projections,
// grouped-query attention (kv head j serves q heads j*g .. j*g+g-1, g = heads / kv_heads, as HF's
// repeat_kv), rotary on q and k before caching, at::scaled_dot_product_attention with scale D^-0.5.
#include <torch/torch.h>

#include <cstdint>

#include "models/fused_linears.h"
#include "models/lora_adapter.h"

namespace balcap::models {

class KvCache;

struct AttentionOptions {
  int64_t hidden_size = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  bool qkv_bias = false;  // Qwen2: true
  bool o_proj_bias = false;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);

  // x: [B, S, hidden]; cos, sin: [B, S, head_dim] for these S tokens.
  // mask: undefined -> causal over the keys [0, start_pos + S) (query i sits at start_pos + i);
  //       else bool (true = attend) or additive float, broadcastable to [B, H, S, start_pos + S]
  //       (see attention_mask_for below).
  // cache: when given, k/v are written at [start_pos, start_pos + S) of `layer` and attention reads all
  //        cached keys up to start_pos + S; without a cache start_pos must be 0. A cache with a
  //        shared prompt prefix (decoding, S = 1) reads the prefix first (prefix_attention.h); mask
  //        is then bool over the rows' own keys or undefined.
  // write_index: static-shape decode (CUDA graphs): when defined ([1] int64 device tensor), S must be 1,
  //        k/v are written at that cache index (KvCache::update_at, start_pos unused) and attention reads
  //        the first K = mask.size(-1) cache slots under `mask` (bool [B, 1, 1, K], required).
  // -> [B, S, hidden]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask = {},
                     KvCache* cache = nullptr, int64_t layer = 0, int64_t start_pos = 0,
                     const at::Tensor& write_index = {});

  AttentionOptions options;
  torch::nn::Linear q_proj{nullptr};  // hidden -> heads * D
  torch::nn::Linear k_proj{nullptr};  // hidden -> kv_heads * D
  torch::nn::Linear v_proj{nullptr};  // hidden -> kv_heads * D
  torch::nn::Linear o_proj{nullptr};  // heads * D -> hidden
  // Optional LoRA slots (null = plain projection; not registered: parameter names unchanged).
  LoraAdapter q_lora{nullptr}, k_lora{nullptr}, v_lora{nullptr}, o_lora{nullptr};
  // q/k/v as one GEMM for inference (eval mode, no grad, no LoRA on them; fused_linears.h).
  FusedLinears qkv_fused;
};
TORCH_MODULE(Attention);

// Bool mask [B, 1, S, T] (true = attend) for S queries at positions [start_pos, start_pos + S) over
// T = start_pos + S keys: causal AND key not padding (padding_mask: [B, T], 1/true = real token, as
// HF's attention_mask). A query always sees itself, so padding rows stay finite (their outputs are
// never used; real tokens never attend to padding).
at::Tensor attention_mask_for(const at::Tensor& padding_mask, int64_t q_len, int64_t start_pos);

}  // namespace balcap::models
