#pragma once
// log_softmax of a Qwen2.5-VL policy's batch-1 full forward over prompt + completion, at the
// completion's positions: the single-row path the models parity tests tie to transformers, which
// the sampler and the batched training forward are compared with.
#include <cstdint>
#include <vector>

#include "models/qwen2_5_vl_policy.h"

namespace balcap::test {

// Log-probabilities of `completion` after `prompt` from one full forward of a Qwen2.5-VL policy.
inline std::vector<float> full_forward_logprobs(models::Policy& any, const models::PolicyPrompt& prompt,
                                                const std::vector<int64_t>& completion) {
  auto& policy = dynamic_cast<models::Qwen2_5_VLPolicy&>(any);
  std::vector<int64_t> all = prompt.ids;
  all.insert(all.end(), completion.begin(), completion.end());
  const auto L = static_cast<int64_t>(prompt.ids.size()), n = static_cast<int64_t>(completion.size());
  torch::NoGradGuard no_grad;
  const at::Tensor logits =
      policy.model()->forward(at::tensor(all, at::kLong).view({1, -1}), prompt.pixel_values, prompt.image_grid_thw);
  const at::Tensor logp =
      logits[0].narrow(0, L - 1, n).log_softmax(-1).gather(1, at::tensor(completion, at::kLong).view({n, 1}));
  return std::vector<float>(logp.data_ptr<float>(), logp.data_ptr<float>() + n);
}

}  // namespace balcap::test
