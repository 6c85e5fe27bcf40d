#pragma once
// The weights of an HF model directory: a sharded checkpoint (model.safetensors.index.json +
// the shards its weight_map names) or a single model.safetensors. Pickle checkpoints
// (pytorch_model.bin, *.bin, *.pt) are refused: loading them would run arbitrary code.
#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors_reader.h"

namespace balcap::io {

class SafetensorsCheckpoint {
 public:
  // `path` is a model directory or one .safetensors file. Missing weights, a shard named by the
  // index but absent, a tensor the index places in a shard that lacks it, or a pickle-only
  // directory -> balcap::Error naming the file (and tensors) with a HINT.
  explicit SafetensorsCheckpoint(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // Tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  // dtype and shape; unknown name -> balcap::Error naming the checkpoint and tensor.
  const SafetensorsTensorInfo& info(const std::string& name) const;
  // Zero-copy CPU view into the shard's mapping.
  at::Tensor tensor(const std::string& name) const;
  // The shard holding `name`.
  const std::filesystem::path& file_of(const std::string& name) const;
  // The files opened (one, or the shards in index order).
  std::vector<std::filesystem::path> files() const;
  size_t size() const { return where_.size(); }

 private:
  void open_index(const std::filesystem::path& index_path);
  const SafetensorsFile& shard_of(const std::string& name) const;

  std::filesystem::path path_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, size_t> where_;  // tensor name -> index in shards_
};

}  // namespace balcap::io
