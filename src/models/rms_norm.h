#pragma once
// Private to src/models: RMSNorm as transformers' Qwen2RMSNorm / LlamaRMSNorm / Qwen2_5_VLRMSNorm:
//   y = weight * cast_back(x_f32 * rsqrt(mean(x_f32^2, -1) + eps))
// The normalisation runs in float32 whatever the activation dtype; the cast back to the input dtype
// happens BEFORE the multiplication by `weight` (so bf16 runs round like HF's).
#include <torch/torch.h>

#include <cstdint>

namespace balcap::models {

struct RMSNormOptions {
  int64_t hidden_size = 0;
  double eps = 1e-6;
};

class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(const RMSNormOptions& options);
  RMSNormImpl(int64_t hidden_size, double eps) : RMSNormImpl(RMSNormOptions{hidden_size, eps}) {}

  // x: [..., hidden_size] -> same shape and dtype as x.
  at::Tensor forward(const at::Tensor& x);

  RMSNormOptions options;
  at::Tensor weight;  // [hidden_size], parameter "weight"
};
TORCH_MODULE(RMSNorm);

}  // namespace balcap::models
