#pragma once
// What the LoRA tests share (models_lora_test: injection, merge, PEFT files; checkpoint_lora_peft_test:
// the checkpoint, `balcap export` and PEFT itself): the adapter config they use, random B matrices
// (B = 0 makes an adapter a no-op) and the policy's logits on a fixture's rows.
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "models/lora.h"
#include "models/policy.h"

namespace balcap::test {

// {"ids": [[...], ...]} of a reference inputs file.
inline std::vector<std::vector<int64_t>> read_input_ids(const std::filesystem::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in)["ids"].get<std::vector<std::vector<int64_t>>>();
}

// logits [B, S, V] of the policy on text-only rows (no grad).
inline at::Tensor text_logits(models::Policy& policy, const std::vector<std::vector<int64_t>>& ids) {
  at::NoGradGuard no_grad;
  const auto batch = models::make_policy_batch(ids, std::vector<const models::PolicyPrompt*>(ids.size(), nullptr), at::kCPU);
  return at::matmul(policy.hidden_states(batch), policy.output_weight().t());
}

// train.lora's target_modules default (every projection), r 4.
inline models::LoraOptions lora_test_config() {
  models::LoraOptions c;
  c.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  c.r = 4;
  c.alpha = 8.0;
  c.dropout = 0.1;  // inactive in eval mode; recorded in adapter_config.json
  return c;
}

// B = 0 makes an adapter a no-op: give every B random values so the test sees the adapters.
inline void randomise_b(models::LoraAdapters& lora, at::Generator gen) {
  at::NoGradGuard no_grad;
  for (auto& [name, t] : lora.named_parameters()) {
    if (name.ends_with("lora_B.weight")) t.copy_(at::randn(t.sizes(), gen) * 0.2);
  }
}

}  // namespace balcap::test
