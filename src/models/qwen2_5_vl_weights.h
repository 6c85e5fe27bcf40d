#pragma once
// Qwen2.5-VL checkpoints as users download them: load a transformers model directory into
// Qwen2_5_VLForConditionalGeneration, and save one back in the same layout.
//
// Tensor names on disk come in two spellings, both accepted:
//   hub (v4, and what transformers 5.x save_pretrained writes):  model.layers.*, model.embed_tokens.*,
//        model.norm.*, visual.*, lm_head.weight
//   v5 in-memory names: model.language_model.*, model.visual.*, lm_head.weight
// The module always uses the v5 names; saving writes the spelling the checkpoint came in.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "io/generation_config.h"
#include "io/hf_config.h"
#include "models/qwen2_5_vl_model.h"

namespace balcap::models {

enum class WeightLayout { hub, v5 };
const char* to_string(WeightLayout layout);

// Disk name (either spelling) -> module (v5) name; other names pass through unchanged.
std::string qwen2_5_vl_module_name(const std::string& disk_name);
// Module (v5) name -> hub spelling.
std::string qwen2_5_vl_hub_name(const std::string& module_name);

struct Qwen2_5_VLCheckpoint {
  Qwen2_5_VLForConditionalGeneration model{nullptr};  // eval mode, weights in the dtype/device asked
  io::Qwen2_5_VLConfig config;
  io::GenerationConfig generation;  // empty when generation_config.json is absent
  WeightLayout layout = WeightLayout::hub;
  std::filesystem::path dir;
};

// Loads `dir` (config.json, generation_config.json, model.safetensors or a sharded index).
// `dtype` is bf16, f16 or f32 (any of them on disk is converted). A config of another model type,
// a missing/truncated shard, or weights that do not fit the config (all listed at once) ->
// balcap::Error naming the file. A missing lm_head.weight is accepted only when the config ties it.
Qwen2_5_VLCheckpoint load_qwen2_5_vl(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat,
                                     at::Device device = at::kCPU);

// Writes `model` to `dir` as transformers does: sharded safetensors (model-0000i-of-0000N +
// model.safetensors.index.json, or one model.safetensors) in `layout`'s spelling, in the weights'
// current dtype; config.json from `source_dir` with its dtype updated; generation_config.json and
// the tokenizer/processor files copied from `source_dir` (those that exist there).
void save_qwen2_5_vl(Qwen2_5_VLForConditionalGeneration& model, const std::filesystem::path& dir, WeightLayout layout,
                     const std::filesystem::path& source_dir, uint64_t max_shard_bytes = 5'000'000'000ULL);

}  // namespace balcap::models
