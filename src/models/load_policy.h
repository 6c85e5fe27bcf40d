#pragma once
// Any checkpoint balcap runs, as a Policy: the one place that maps a model directory's family
// (config.json model_type) to its Policy class.
#include <filesystem>
#include <memory>

#include "models/policy.h"

namespace balcap::models {

// qwen2_5_vl -> Qwen2_5_VLPolicy; qwen2 / llama -> TextCausalLMPolicy; llava -> LlavaPolicy
// (LLaVA-1.5); an unknown or missing model type -> balcap::Error naming config.json.
// `dtype` bf16, f16 or f32; the weights are converted on load.
std::unique_ptr<Policy> load_policy(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat,
                                    at::Device device = at::kCPU);

}  // namespace balcap::models
