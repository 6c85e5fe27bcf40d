#pragma once
// Private to src/models: LLaVA-1.5 checkpoints as users download them: load a transformers model
// directory into LlavaForConditionalGeneration, and save one back in the spelling it came in.
//
// On-disk tensor names come in three spellings, all accepted:
//   hub (llava-hf, transformers 4.x):  language_model.model.*, language_model.lm_head.weight,
//                                      vision_tower.vision_model.*, multi_modal_projector.*
//   transformers 5 save_pretrained:    the hub names, but vision_tower.* without the vision_model. level
//   transformers 5 in-memory names:    model.language_model.*, model.vision_tower.*,
//                                      model.multi_modal_projector.*, lm_head.weight
// The module always uses the in-memory names.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "io/generation_config.h"
#include "io/hf_config.h"
#include "models/llava_model.h"

namespace balcap::models {

// How a checkpoint spells its tensor names (see above).
struct LlavaLayout {
  bool in_memory = false;           // model.* / lm_head.* (else language_model.* / vision_tower.* / ...)
  bool vision_model_level = true;   // vision_tower.vision_model.* (hub) rather than vision_tower.*
};

// On-disk name (any spelling) -> module name; names of no known prefix pass through unchanged.
std::string llava_module_name(const std::string& disk_name);
// Module name -> the spelling of `layout`.
std::string llava_disk_name(const std::string& module_name, const LlavaLayout& layout);

struct LlavaCheckpoint {
  LlavaForConditionalGeneration model{nullptr};  // eval mode, weights in the dtype/device asked
  io::LlavaConfig config;
  io::GenerationConfig generation;  // empty when generation_config.json is absent
  LlavaLayout layout;
  std::filesystem::path dir;
};

// Loads `dir` (config.json, generation_config.json, model.safetensors or a sharded index) in `dtype`
// (bf16, f16 or f32) on `device`. Another model type, a missing/truncated shard, or weights that do
// not fit the config (all listed at once, with the file) -> balcap::Error.
LlavaCheckpoint load_llava(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat,
                           at::Device device = at::kCPU);

// Writes `model` to `dir` as transformers does, in `layout`'s spelling (see weight_loading.h).
void save_llava(LlavaForConditionalGeneration& model, const std::filesystem::path& dir, const LlavaLayout& layout,
                const std::filesystem::path& source_dir, uint64_t max_shard_bytes = 5'000'000'000ULL);

}  // namespace balcap::models
