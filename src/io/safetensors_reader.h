#pragma once
// Reading one .safetensors file: mmap'd, header validated on open, tensors returned as zero-copy
// CPU views of the mapping (kept alive by the tensors themselves). A tensor whose bytes are not
// aligned to its element size (possible in files from other writers) is copied instead.
#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "io/safetensors_header.h"

namespace balcap::io {

at::ScalarType to_scalar_type(SafetensorsDtype dtype);
// nullopt for scalar types safetensors/balcap cannot store (complex, quantized, ...).
std::optional<SafetensorsDtype> to_safetensors_dtype(at::ScalarType type);

class SafetensorsFile {
 public:
  // Maps and validates `path`; any problem -> balcap::Error naming the file (and tensor).
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return mapping_->path(); }
  // Tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return header_.tensors.count(name) > 0; }
  // dtype, shape, offsets; unknown name -> balcap::Error naming the file and tensor.
  const SafetensorsTensorInfo& info(const std::string& name) const;
  // Zero-copy CPU view; writes to it stay in memory (copy-on-write), never reach the file.
  at::Tensor tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const std::map<std::string, SafetensorsTensorInfo>& tensors() const { return header_.tensors; }

 private:
  std::shared_ptr<MappedFile> mapping_;
  SafetensorsHeader header_;
};

// Every tensor of `path` by name (zero-copy views).
std::map<std::string, at::Tensor> load_safetensors(const std::filesystem::path& path);

}  // namespace balcap::io
