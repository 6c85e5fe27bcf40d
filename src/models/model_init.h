#pragma once
// New models with random weights, written as transformers model directories: the demo's tiny
// policy (`balcap model init`) and anyone who wants to train a small Qwen2.5-VL or LLaVA from scratch.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

namespace balcap::models {

// transformers' _init_weights for these models: every Linear / Conv / Embedding weight drawn from
// normal(0, std), biases zero, RMSNorm weights one. Draws in named_parameters() order from a CPU
// generator seeded with `seed`, so the result depends on the seed and the architecture only.
void init_weights_normal(torch::nn::Module& module, double std, uint64_t seed);

// Builds the model of `template_dir`/config.json (Qwen2.5-VL or LLaVA-1.5; initializer_range from
// text_config, default 0.02), initialises it with `seed`, and writes `out_dir`: model.safetensors
// (float32, the hub spelling), config.json, and the companion files of template_dir
// (generation_config.json, preprocessor_config.json, chat_template.json, tokenizer_config.json, ...),
// plus tokenizer.json from `tokenizer_dir` (tokenizer.json or tokenizer.json.gz; for LLaVA with
// <image> = 32000 and <pad> = 32001 added when absent). Another model type or a missing tokenizer ->
// balcap::Error naming the file.
void init_model(const std::filesystem::path& template_dir, const std::filesystem::path& tokenizer_dir,
                const std::filesystem::path& out_dir, uint64_t seed);

}  // namespace balcap::models
