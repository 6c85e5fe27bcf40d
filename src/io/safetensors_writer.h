#pragma once
// Writing safetensors files the python library and transformers read unchanged: one file, or a
// sharded checkpoint (model-0000i-of-0000N.safetensors + model.safetensors.index.json) named and
// split as transformers' save_pretrained does. Every file is written to a temporary name in the
// same directory and renamed, so a crash never leaves a half-written file under the final name.
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/atomic_file.h"

namespace balcap::io {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes `tensors` (any device/layout: saved as contiguous CPU copies) to `path`. Tensors are laid
// out by decreasing element size, then name, after a header padded with spaces to a multiple of 8
// bytes, so every tensor is aligned in the file. "format": "pt" is added to `metadata` unless set
// (transformers expects it). Duplicate/empty names or unsupported dtypes -> balcap::Error.
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Writes `tensors` into `dir` (created if needed) as transformers does: greedy shards of at most
// `max_shard_bytes` in the given order (a larger tensor gets a shard of its own), named
// model-00001-of-0000N.safetensors, plus model.safetensors.index.json
// {"metadata": {"total_parameters", "total_size"}, "weight_map": {name: shard}}; a single
// model.safetensors without index when everything fits one shard. Stale weight files of an older
// save in `dir` are removed. Returns the files written (shards, then the index).
std::vector<std::filesystem::path> save_sharded_safetensors(
    const std::filesystem::path& dir, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
    uint64_t max_shard_bytes, const std::map<std::string, std::string>& metadata = {});

}  // namespace balcap::io
