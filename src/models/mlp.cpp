#include "models/mlp.h"

#include "core/error.h"

namespace balcap::models {

SwiGluMlpImpl::SwiGluMlpImpl(const SwiGluMlpOptions& options_) : options(options_) {
  BALCAP_CHECK(options.hidden_act == "silu" || options.hidden_act == "swish",
               "SwiGluMlp: hidden_act '{}' is not supported. HINT: balcap implements the silu MLPs of "
               "Qwen2/Qwen2.5-VL/LLaMA checkpoints.",
               options.hidden_act);
  BALCAP_CHECK(options.hidden_size > 0 && options.intermediate_size > 0,
               "SwiGluMlp: hidden_size {} and intermediate_size {} must be positive. HINT: check config.json.",
               options.hidden_size, options.intermediate_size);
  const auto up = torch::nn::LinearOptions(options.hidden_size, options.intermediate_size).bias(options.bias);
  const auto down = torch::nn::LinearOptions(options.intermediate_size, options.hidden_size).bias(options.bias);
  gate_proj = register_module("gate_proj", torch::nn::Linear(up));
  up_proj = register_module("up_proj", torch::nn::Linear(up));
  down_proj = register_module("down_proj", torch::nn::Linear(down));
}

at::Tensor SwiGluMlpImpl::forward(const at::Tensor& x) {
  const bool training = is_training();
  const bool one_gemm = !training && !at::GradMode::is_enabled() && !gate_lora && !up_lora;
  if (const auto gate_up = one_gemm ? gate_up_fused.forward(x) : std::vector<at::Tensor>{}; !gate_up.empty()) {
    return linear_with_lora(down_proj, down_lora, at::silu(gate_up[0]) * gate_up[1], training);
  }
  const auto gate = at::silu(linear_with_lora(gate_proj, gate_lora, x, training));  // [..., I]
  return linear_with_lora(down_proj, down_lora, gate * linear_with_lora(up_proj, up_lora, x, training), training);
}

}  // namespace balcap::models
