#pragma once
// Private to src/models: LoRA adapter slot of a linear layer (PEFT's dense LoraLayer): y = W x + b + scale * B (A dropout(x)),
// A: [r, in], B: [out, r], scale = alpha / r. The adapter is NOT a registered submodule of the layer
// that holds it: the model's parameter names (and so its HF checkpoints) stay exactly as without
// LoRA; the adapters' parameters are reached through models/lora.h's LoraAdapters.
//
//   q = linear_with_lora(q_proj, q_lora, x, is_training());   // q_lora null -> q_proj(x), unchanged
#include <torch/torch.h>

#include <cstdint>

namespace balcap::models {

class LoraAdapterImpl : public torch::nn::Module {
 public:
  // A kaiming-uniform as PEFT (a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))) drawn from `generator`,
  // B zero (the adapted layer starts equal to the base). Parameters in `dtype` on `device`.
  LoraAdapterImpl(int64_t in_features, int64_t out_features, int64_t r, double alpha, double dropout,
                  at::ScalarType dtype, at::Device device, at::Generator generator);

  // x: [..., in] -> scale * dropout(x) A^T B^T: [..., out]. Dropout only when `training`.
  at::Tensor delta(const at::Tensor& x, bool training);

  at::Tensor lora_A;  // [r, in]
  at::Tensor lora_B;  // [out, r]
  double scale = 1.0;
  double dropout = 0.0;
};
TORCH_MODULE(LoraAdapter);

// base(x), plus adapter->delta(x) when an adapter is set. The non-LoRA path costs one null test.
inline at::Tensor linear_with_lora(const torch::nn::Linear& base, const LoraAdapter& adapter, const at::Tensor& x,
                                   bool training) {
  auto y = base.ptr()->forward(x);
  if (adapter) y = y + adapter.ptr()->delta(x, training);
  return y;
}

}  // namespace balcap::models
