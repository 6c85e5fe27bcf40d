#pragma once
// Private to src/io: The safetensors header: 8-byte little-endian length N, then N bytes of JSON
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}
// with [b, e) relative to the first byte after the header. Parsing validates everything a
// reader relies on, so a bad file fails here with the file and tensor named, never later.
// Torch-free.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace balcap::io {

enum class SafetensorsDtype { BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64 };

// "F32" -> F32; nullopt for names balcap does not support (F8_E4M3, U16, ...).
std::optional<SafetensorsDtype> parse_safetensors_dtype(std::string_view name);
const char* to_string(SafetensorsDtype dtype);
size_t element_size(SafetensorsDtype dtype);
// "BF16, BOOL, F16, ..." for error messages.
std::string supported_safetensors_dtypes();

struct SafetensorsTensorInfo {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
  uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  uint64_t data_start = 0;  // file offset of the data section = 8 + header length
  std::map<std::string, SafetensorsTensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Bound on the JSON header (the python library uses the same 100 MB limit).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// Parses and validates the header of a whole file held in `bytes[0, file_size)`; `file` names it
// in errors. Checks: length bound and inside the file, valid JSON object, no duplicate names,
// known dtypes, shapes of non-negative ints, data_offsets consistent with dtype x shape, inside
// the file and not overlapping.
SafetensorsHeader parse_safetensors_header(const std::string& file, const uint8_t* bytes, size_t file_size);

}  // namespace balcap::io
