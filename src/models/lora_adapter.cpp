#include "models/lora_adapter.h"

#include <cmath>

#include "core/error.h"

namespace balcap::models {

LoraAdapterImpl::LoraAdapterImpl(int64_t in_features, int64_t out_features, int64_t r, double alpha, double dropout_,
                                 at::ScalarType dtype, at::Device device, at::Generator generator)
    : scale(alpha / static_cast<double>(r)), dropout(dropout_) {
  BALCAP_CHECK(in_features > 0 && out_features > 0 && r > 0,
               "LoRA: in {} / out {} / r {} must be positive. HINT: check train.lora.r.", in_features, out_features, r);
  // PEFT: kaiming_uniform_(A, a=sqrt(5)) -> bound = sqrt(6 / ((1 + 5) * fan_in)) = 1 / sqrt(fan_in).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  auto a = at::empty({r, in_features}, at::TensorOptions().dtype(at::kFloat));
  a.uniform_(-bound, bound, generator);
  lora_A = register_parameter("lora_A", a.to(device, dtype));
  lora_B = register_parameter("lora_B", at::zeros({out_features, r}, at::TensorOptions().dtype(dtype).device(device)));
}

at::Tensor LoraAdapterImpl::delta(const at::Tensor& x, bool training) {
  const auto h = (training && dropout > 0) ? at::dropout(x, dropout, /*train=*/true) : x;
  return at::linear(at::linear(h, lora_A), lora_B) * scale;  // [..., r] -> [..., out]
}

}  // namespace balcap::models
