#include "models/rms_norm.h"

#include "core/error.h"

namespace balcap::models {

RMSNormImpl::RMSNormImpl(const RMSNormOptions& options_) : options(options_) {
  BALCAP_CHECK(options.hidden_size > 0, "RMSNorm: hidden_size {} must be positive. HINT: check the model config.",
               options.hidden_size);
  weight = register_parameter("weight", torch::ones({options.hidden_size}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  // Normalise in float32 (as HF), cast back to the activation dtype, then scale.
  const auto x32 = x.to(at::kFloat);
  const auto variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  const auto normed = (x32 * at::rsqrt(variance + options.eps)).to(x.scalar_type());
  return weight * normed;
}

}  // namespace balcap::models
