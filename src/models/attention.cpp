#include "models/attention.h"

#include <cmath>

#include "core/error.h"
#include "models/kv_cache.h"
#include "models/prefix_attention.h"
#include "models/rotary.h"

namespace balcap::models {

AttentionImpl::AttentionImpl(const AttentionOptions& options_) : options(options_) {
  const auto& o = options;
  BALCAP_CHECK(o.hidden_size > 0 && o.num_heads > 0 && o.num_kv_heads > 0 && o.head_dim > 0,
               "Attention: hidden_size {}, heads {}, kv heads {}, head_dim {} must be positive. HINT: check "
               "config.json.",
               o.hidden_size, o.num_heads, o.num_kv_heads, o.head_dim);
  BALCAP_CHECK(o.num_heads % o.num_kv_heads == 0,
               "Attention: num_attention_heads {} is not a multiple of num_key_value_heads {}. HINT: check "
               "config.json.",
               o.num_heads, o.num_kv_heads);
  const auto lin = [](int64_t in, int64_t out, bool bias) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
  };
  q_proj = register_module("q_proj", lin(o.hidden_size, o.num_heads * o.head_dim, o.qkv_bias));
  k_proj = register_module("k_proj", lin(o.hidden_size, o.num_kv_heads * o.head_dim, o.qkv_bias));
  v_proj = register_module("v_proj", lin(o.hidden_size, o.num_kv_heads * o.head_dim, o.qkv_bias));
  o_proj = register_module("o_proj", lin(o.num_heads * o.head_dim, o.hidden_size, o.o_proj_bias));
}

// Causal bool mask [S, T] for S queries at positions start_pos.. over T = start_pos + S keys.
static at::Tensor causal_mask(int64_t q_len, int64_t start_pos, const at::Device& device) {
  const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  const auto q_pos = at::arange(start_pos, start_pos + q_len, opts).unsqueeze(1);  // [S, 1]
  const auto k_pos = at::arange(0, start_pos + q_len, opts).unsqueeze(0);          // [1, T]
  return k_pos <= q_pos;
}

// The static-shape decode step: k/v [B, H_kv, 1, D] are written at the device index `write_index`;
// attention reads the first K = mask.size(-1) cache slots (fixed per CUDA graph), the unwritten ones
// masked out by the caller. One query per row, so the g = H / H_kv query heads of kv head j (heads
// j*g .. j*g+g-1, as HF's repeat_kv) become g query rows of that kv head: GQA without repeating the
// cache, and SDPA may use its fused masked kernel. q: [B, H, 1, D] -> [B, 1, H * D].
static at::Tensor static_step_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const at::Tensor& mask, KvCache& cache, int64_t layer,
                                        const at::Tensor& write_index) {
  const int64_t B = q.size(0), H = q.size(1), D = q.size(3), H_kv = k.size(1), K = mask.size(3);
  const auto [keys, values] = cache.update_at(layer, k, v, write_index);  // [B, H_kv, S_max, D]
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  if (const SharedPrefix* prefix = cache.prefix()) {
    return prefix_attention(q, keys.narrow(2, 0, K), values.narrow(2, 0, K), mask.reshape({B, K}), *prefix, layer,
                            scale);
  }
  const auto grouped = q.reshape({B, H_kv, H / H_kv, D});  // [B, H_kv, g, D]
  const auto out = at::scaled_dot_product_attention(grouped, keys.narrow(2, 0, K), values.narrow(2, 0, K), mask,
                                                    /*dropout_p=*/0.0, /*is_causal=*/false, scale);
  return out.reshape({B, 1, H * D});  // [B, H_kv, g, D] -> [B, 1, H * D]
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                  const at::Tensor& mask, KvCache* cache, int64_t layer, int64_t start_pos,
                                  const at::Tensor& write_index) {
  const int64_t B = x.size(0), S = x.size(1), D = options.head_dim;
  BALCAP_CHECK(cache != nullptr || start_pos == 0,
               "Attention: start_pos {} without a KV cache. HINT: pass the cache that holds the earlier positions.",
               start_pos);
  // q: [B, H, S, D]; k, v: [B, H_kv, S, D]
  const bool training = is_training();
  const bool one_gemm = !training && !at::GradMode::is_enabled() && !q_lora && !k_lora && !v_lora;
  std::vector<at::Tensor> qkv = one_gemm ? qkv_fused.forward(x) : std::vector<at::Tensor>{};
  if (qkv.empty()) {
    qkv = {linear_with_lora(q_proj, q_lora, x, training), linear_with_lora(k_proj, k_lora, x, training),
           linear_with_lora(v_proj, v_lora, x, training)};
  }
  auto q = qkv[0].view({B, S, options.num_heads, D}).transpose(1, 2);
  auto k = qkv[1].view({B, S, options.num_kv_heads, D}).transpose(1, 2);
  auto v = qkv[2].view({B, S, options.num_kv_heads, D}).transpose(1, 2);
  q = apply_rotary(q, cos, sin);
  k = apply_rotary(k, cos, sin);
  if (write_index.defined()) {
    BALCAP_CHECK(cache != nullptr && S == 1 && mask.defined() && mask.dim() == 4 && mask.size(1) == 1,
                 "Attention: a static decode step needs a cache, one token per row and a [B, 1, 1, K] mask "
                 "(got S = {}, mask {}). HINT: use Policy::decode_static.",
                 S, mask.defined() ? c10::str(mask.sizes()) : std::string("undefined"));
    const auto out = static_step_attention(q, k, v, mask, *cache, layer, write_index);  // [B, 1, H * D]
    return linear_with_lora(o_proj, o_lora, out, training);
  }
  if (cache != nullptr) std::tie(k, v) = cache->update(layer, k, v, start_pos);  // [B, H_kv, T, D]
  if (cache != nullptr && cache->prefix() != nullptr) {
    BALCAP_CHECK(S == 1 && (!mask.defined() || (mask.scalar_type() == at::kBool && mask.numel() == B * k.size(2))),
                 "Attention: a cache with a shared prompt prefix decodes one token per row under a bool [B, T] key "
                 "mask or none (got S = {}, mask {}).",
                 S, mask.defined() ? c10::str(mask.sizes()) : std::string("undefined"));
    const at::Tensor row_mask = mask.defined() ? mask.reshape({B, k.size(2)}) : at::Tensor();
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    const auto out = prefix_attention(q, k, v, row_mask, *cache->prefix(), layer, scale);  // [B, 1, H * D]
    return linear_with_lora(o_proj, o_lora, out, training);
  }

  // Causal without a mask: SDPA's is_causal aligns top-left, right only when T == S; a single new
  // token sees every key; otherwise an explicit bottom-right causal mask.
  std::optional<at::Tensor> attn_mask;
  bool is_causal = false;
  if (mask.defined()) {
    attn_mask = mask.scalar_type() == at::kBool ? mask : mask.to(q.scalar_type());
  } else if (start_pos == 0 && S > 1) {
    is_causal = true;
  } else if (S > 1) {
    attn_mask = causal_mask(S, start_pos, x.device());
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const bool gqa = options.num_heads != options.num_kv_heads;
  const auto out = at::scaled_dot_product_attention(q, k, v, attn_mask, /*dropout_p=*/0.0, is_causal, scale,
                                                    /*enable_gqa=*/gqa);  // [B, H, S, D]
  return linear_with_lora(o_proj, o_lora, out.transpose(1, 2).reshape({B, S, options.num_heads * D}), training);
}

at::Tensor attention_mask_for(const at::Tensor& padding_mask, int64_t q_len, int64_t start_pos) {
  BALCAP_CHECK(padding_mask.dim() == 2 && padding_mask.size(1) == start_pos + q_len,
               "attention mask: expected [batch, {}] (start_pos {} + {} new tokens), got {}. HINT: the mask covers "
               "the cached tokens and the new ones.",
               start_pos + q_len, start_pos, q_len, c10::str(padding_mask.sizes()));
  const auto opts = at::TensorOptions().dtype(at::kLong).device(padding_mask.device());
  const auto q_pos = at::arange(start_pos, start_pos + q_len, opts).view({1, 1, q_len, 1});
  const auto k_pos = at::arange(0, start_pos + q_len, opts).view({1, 1, 1, start_pos + q_len});
  const auto real_key = padding_mask.to(at::kBool).view({padding_mask.size(0), 1, 1, start_pos + q_len});
  // A query always sees itself: padding rows keep a finite softmax (no NaN reaching later layers).
  return ((k_pos <= q_pos) & real_key) | (k_pos == q_pos);  // [B, 1, S, T]
}

}  // namespace balcap::models
