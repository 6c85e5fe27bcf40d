#pragma once
// Private to src/models: SwiGLU MLP as transformers' Qwen2MLP / LlamaMLP / Qwen2_5_VLMLP (the vision blocks, with bias):
//   y = down_proj(silu(gate_proj(x)) * up_proj(x))
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "models/fused_linears.h"
#include "models/lora_adapter.h"

namespace balcap::models {

struct SwiGluMlpOptions {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  bool bias = false;                // all three projections carry a bias (vision: true; Qwen2 text: false)
  std::string hidden_act = "silu";  // only "silu" is implemented (else balcap::Error at construction)
};

class SwiGluMlpImpl : public torch::nn::Module {
 public:
  explicit SwiGluMlpImpl(const SwiGluMlpOptions& options);

  // x: [..., hidden_size] -> [..., hidden_size]
  at::Tensor forward(const at::Tensor& x);

  SwiGluMlpOptions options;
  torch::nn::Linear gate_proj{nullptr};  // hidden -> intermediate
  torch::nn::Linear up_proj{nullptr};    // hidden -> intermediate
  torch::nn::Linear down_proj{nullptr};  // intermediate -> hidden
  // Optional LoRA slots (null = plain projection; not registered: parameter names unchanged).
  LoraAdapter gate_lora{nullptr}, up_lora{nullptr}, down_lora{nullptr};
  // gate/up as one GEMM for inference (eval mode, no grad, no LoRA on them; fused_linears.h).
  FusedLinears gate_up_fused;
};
TORCH_MODULE(SwiGluMlp);

}  // namespace balcap::models
