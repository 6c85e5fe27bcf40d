#include "io/safetensors_reader.h"

#include <cstring>

#include "core/error.h"

namespace balcap::io {

at::ScalarType to_scalar_type(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::BOOL: return at::kBool;
    case SafetensorsDtype::U8: return at::kByte;
    case SafetensorsDtype::I8: return at::kChar;
    case SafetensorsDtype::I16: return at::kShort;
    case SafetensorsDtype::I32: return at::kInt;
    case SafetensorsDtype::I64: return at::kLong;
    case SafetensorsDtype::F16: return at::kHalf;
    case SafetensorsDtype::BF16: return at::kBFloat16;
    case SafetensorsDtype::F32: return at::kFloat;
    case SafetensorsDtype::F64: return at::kDouble;
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled SafetensorsDtype");
}

std::optional<SafetensorsDtype> to_safetensors_dtype(at::ScalarType type) {
  switch (type) {
    case at::kBool: return SafetensorsDtype::BOOL;
    case at::kByte: return SafetensorsDtype::U8;
    case at::kChar: return SafetensorsDtype::I8;
    case at::kShort: return SafetensorsDtype::I16;
    case at::kInt: return SafetensorsDtype::I32;
    case at::kLong: return SafetensorsDtype::I64;
    case at::kHalf: return SafetensorsDtype::F16;
    case at::kBFloat16: return SafetensorsDtype::BF16;
    case at::kFloat: return SafetensorsDtype::F32;
    case at::kDouble: return SafetensorsDtype::F64;
    default: return std::nullopt;
  }
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : mapping_(std::make_shared<MappedFile>(path)) {
  header_ = parse_safetensors_header(path.string(), mapping_->data(), mapping_->size());
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(header_.tensors.size());
  for (const auto& [name, info] : header_.tensors) out.push_back(name);
  return out;
}

const SafetensorsTensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = header_.tensors.find(name);
  if (it == header_.tensors.end()) {
    fail("{}: no tensor named '{}' ({} tensors in the file). HINT: list the names with "
         "`python -c \"import safetensors; print(safetensors.safe_open('{}', 'pt').keys())\"`",
         path().string(), name, header_.tensors.size(), path().string());
  }
  return it->second;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsTensorInfo& meta = info(name);
  const auto options = at::TensorOptions().dtype(to_scalar_type(meta.dtype)).device(at::kCPU);
  if (meta.nbytes() == 0) return at::empty(meta.shape, options);
  uint8_t* data = mapping_->data() + header_.data_start + meta.begin;
  if (reinterpret_cast<uintptr_t>(data) % element_size(meta.dtype) != 0) {
    // Misaligned element pointers are undefined behaviour for vectorised kernels: copy.
    at::Tensor copy = at::empty(meta.shape, options);
    std::memcpy(copy.data_ptr(), data, meta.nbytes());
    return copy;
  }
  std::shared_ptr<MappedFile> keep_alive = mapping_;
  return at::from_blob(data, meta.shape, [keep_alive](void*) {}, options);
}

std::map<std::string, at::Tensor> load_safetensors(const std::filesystem::path& path) {
  SafetensorsFile file(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, info] : file.tensors()) out.emplace(name, file.tensor(name));
  return out;
}

}  // namespace balcap::io
