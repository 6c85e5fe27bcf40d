#pragma once
// Filling any torch::nn::Module from a safetensors checkpoint through a name map, and the reverse.
// Model-independent: each model supplies how its on-disk names map to its parameter names.
// Every missing, unexpected, mis-shaped or non-float tensor is collected and reported in ONE
// balcap::Error, by name, before any parameter is touched.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"

namespace balcap::models {

struct WeightLoadOptions {
  // on-disk name -> module parameter name (identity when empty).
  std::function<std::string(const std::string&)> to_module_name;
  // Parameters that may be absent on disk without error (e.g. nothing; tied heads are simply not
  // registered as parameters). Buffers are never required.
  std::set<std::string> optional_parameters;
  // On-disk names skipped without error (e.g. a tied model's redundant lm_head.weight).
  std::set<std::string> ignored_disk_names;
  at::ScalarType dtype = at::kFloat;  // bf16/f16/f32 on disk are converted to this
  at::Device device = at::kCPU;
};

// Loads every parameter (and any buffer present on disk) of `module` from `checkpoint`.
// Problems -> balcap::Error listing them all, naming the checkpoint, with a HINT.
void load_module_weights(torch::nn::Module& module, const io::SafetensorsCheckpoint& checkpoint,
                         const WeightLoadOptions& options);

// The parameters of `module` as (on-disk name, CPU contiguous tensor), in module order.
io::NamedTensors module_weights_for_saving(const torch::nn::Module& module,
                                       const std::function<std::string(const std::string&)>& to_disk_name);

// What every family's loader (Qwen2.5-VL, text-only Qwen2 / LLaMA, LLaVA) shares.
//
// bf16, f16 or f32, else balcap::Error naming `dir`.
void check_load_dtype(const std::filesystem::path& dir, at::ScalarType dtype);
// The tail of a load, once the family has built `model` from `dir`'s config.json: the weights of
// `checkpoint` into it through `options` (a tied model's stored lm_head.weight is ignored, with a
// warning, as transformers ties after loading; when the load fails and lm_head.weight is absent
// from an untied config, the error says so), then the inference projections fused and eval mode.
void load_pretrained_weights(torch::nn::Module& model, const std::filesystem::path& dir,
                             const io::SafetensorsCheckpoint& checkpoint, bool tie_word_embeddings,
                             WeightLoadOptions options);
// save_pretrained of every family: `model`'s parameters (named by `to_disk_name`, identity when
// empty) into `dir` (created) as transformers writes them -- model.safetensors, or shards of at
// most `max_shard_bytes` + model.safetensors.index.json -- in the weights' current dtype, with
// write_config_for_weights and copy_companion_files from `source_dir`.
void save_pretrained_weights(const torch::nn::Module& model, const std::filesystem::path& dir,
                             const std::filesystem::path& source_dir,
                             const std::function<std::string(const std::string&)>& to_disk_name,
                             uint64_t max_shard_bytes);

// Saving a transformers model directory next to its weights: config.json of `source_dir` with its
// dtype keys (top level and text_config / vision_config) set to the saved weights' `dtype`.
void write_config_for_weights(const std::filesystem::path& source_dir, const std::filesystem::path& dir,
                              at::ScalarType dtype);
// Copies the tokenizer / generation / processor files that exist in `source_dir` into `dir`
// (nothing when they are the same directory). A failed copy -> balcap::Error naming both paths.
void copy_companion_files(const std::filesystem::path& source_dir, const std::filesystem::path& dir);

}  // namespace balcap::models
