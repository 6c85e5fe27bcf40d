#pragma once
// Filling any torch::nn::Module from a safetensors checkpoint through a name map, and the reverse.
// Model-independent: each model supplies how its on-disk names map to its parameter names.
// Every missing, unexpected, mis-shaped or non-float tensor is collected and reported in ONE
// balcap::Error, by name, before any parameter is touched.
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "balcap/io/safetensors_checkpoint.h"
#include "balcap/io/safetensors_writer.h"

namespace balcap {

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
void load_module_weights(torch::nn::Module& module, const SafetensorsCheckpoint& checkpoint,
                         const WeightLoadOptions& options);

// The parameters of `module` as (on-disk name, CPU contiguous tensor), in module order.
NamedTensors module_weights_for_saving(const torch::nn::Module& module,
                                       const std::function<std::string(const std::string&)>& to_disk_name);

}  // namespace balcap
