#include "io/safetensors_header.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <set>

#include "core/error.h"

namespace balcap::io {
namespace {

struct DtypeEntry {
  SafetensorsDtype dtype;
  const char* name;
  size_t size;
};
constexpr std::array<DtypeEntry, 10> kDtypes{{
    {SafetensorsDtype::BOOL, "BOOL", 1}, {SafetensorsDtype::U8, "U8", 1},   {SafetensorsDtype::I8, "I8", 1},
    {SafetensorsDtype::I16, "I16", 2},   {SafetensorsDtype::I32, "I32", 4}, {SafetensorsDtype::I64, "I64", 8},
    {SafetensorsDtype::F16, "F16", 2},   {SafetensorsDtype::BF16, "BF16", 2},
    {SafetensorsDtype::F32, "F32", 4},   {SafetensorsDtype::F64, "F64", 8},
}};

const DtypeEntry& entry(SafetensorsDtype dtype) { return kDtypes[static_cast<size_t>(dtype)]; }

constexpr const char* kCorruptHint = "re-download or re-save the file (safetensors.torch.save_file or save_pretrained)";

// Rejects a second occurrence of a top-level key: nlohmann would silently keep the last one.
nlohmann::json parse_header_json(const std::string& file, const std::string& text) {
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty()) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text, on_event);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: the safetensors header is not valid JSON (byte {} of the header: {}). HINT: the file is "
         "corrupt or not a safetensors file; {}",
         file, e.byte, e.what(), kCorruptHint);
  } catch (const nlohmann::json::out_of_range& e) {  // a number past double's range, e.g. 1e400 (error 406)
    fail("{}: the safetensors header is not valid JSON ({}). HINT: the file is corrupt or not a safetensors file; {}",
         file, e.what(), kCorruptHint);
  }
  if (!duplicate.empty()) {
    fail("{}: tensor '{}' appears twice in the safetensors header. HINT: the file is corrupt; {}", file,
         duplicate, kCorruptHint);
  }
  if (!root.is_object()) {
    fail("{}: the safetensors header must be a JSON object, got {}. HINT: {}", file,
         root.dump().substr(0, 60), kCorruptHint);
  }
  return root;
}

std::map<std::string, std::string> parse_metadata(const std::string& file, const nlohmann::json& value) {
  if (!value.is_object()) fail("{}: '__metadata__' must be an object of strings. HINT: {}", file, kCorruptHint);
  std::map<std::string, std::string> out;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      fail("{}: '__metadata__' value of '{}' must be a string, got {}. HINT: {}", file, key,
           item.dump().substr(0, 60), kCorruptHint);
    }
    out[key] = item.get<std::string>();
  }
  return out;
}

// Element count of `shape`, failing on overflow (a hostile header could ask for 2^70 elements).
uint64_t checked_numel(const std::string& file, const std::string& name, const std::vector<int64_t>& shape) {
  uint64_t numel = 1;
  for (int64_t dim : shape) {
    if (dim != 0 && numel > (uint64_t(1) << 60) / uint64_t(dim)) {
      fail("{}: tensor '{}': shape is too large. HINT: {}", file, name, kCorruptHint);
    }
    numel *= uint64_t(dim);
  }
  return numel;
}

SafetensorsTensorInfo parse_tensor_entry(const std::string& file, const std::string& name,
                                         const nlohmann::json& value) {
  auto bad = [&](const std::string& problem) {
    fail("{}: tensor '{}': {}. HINT: the header is corrupt; {}", file, name, problem, kCorruptHint);
  };
  if (!value.is_object()) bad("entry must be an object with dtype, shape and data_offsets");
  SafetensorsTensorInfo info;
  info.name = name;
  auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) bad("missing or non-string 'dtype'");
  auto parsed = parse_safetensors_dtype(dtype->get<std::string>());
  if (!parsed) {
    fail("{}: tensor '{}': unsupported dtype '{}' (supported: {}). HINT: convert the tensor to one of "
         "these dtypes in python (tensor.to(torch.bfloat16)) and re-save",
         file, name, dtype->get<std::string>(), supported_safetensors_dtypes());
  }
  info.dtype = *parsed;
  auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) bad("missing or non-list 'shape'");
  for (const auto& dim : *shape) {
    if (!dim.is_number_unsigned()) bad("'shape' must hold non-negative integers, got " + shape->dump());
    info.shape.push_back(dim.get<int64_t>());
  }
  auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    bad("'data_offsets' must be [begin, end] with non-negative integers");
  }
  info.begin = (*offsets)[0].get<uint64_t>();
  info.end = (*offsets)[1].get<uint64_t>();
  if (info.end < info.begin) bad(fmt::format("data_offsets [{}, {}] end before they begin", info.begin, info.end));
  const uint64_t expected = checked_numel(file, name, info.shape) * element_size(info.dtype);
  if (info.nbytes() != expected) {
    bad(fmt::format("data_offsets [{}, {}] hold {} bytes but dtype {} x shape [{}] needs {} bytes", info.begin,
                    info.end, info.nbytes(), to_string(info.dtype), fmt::join(info.shape, ", "), expected));
  }
  return info;
}

// Offsets inside the file and no two tensors sharing bytes.
void check_layout(const std::string& file, const SafetensorsHeader& header, size_t file_size) {
  const uint64_t data_size = file_size - header.data_start;
  std::vector<const SafetensorsTensorInfo*> by_offset;
  for (const auto& [name, info] : header.tensors) {
    if (info.end > data_size) {
      fail("{}: tensor '{}' ends at byte {} of the file but the file has only {} bytes: the file looks "
           "truncated (size {}, header says data ends at {}). HINT: re-download or re-save it",
           file, name, header.data_start + info.end, file_size, file_size, header.data_start + info.end);
    }
    if (info.nbytes() > 0) by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      fail("{}: tensors '{}' [{}, {}) and '{}' [{}, {}) overlap in the data section. HINT: the header is "
           "corrupt; {}",
           file, by_offset[i - 1]->name, by_offset[i - 1]->begin, by_offset[i - 1]->end, by_offset[i]->name,
           by_offset[i]->begin, by_offset[i]->end, kCorruptHint);
    }
  }
}

}  // namespace

std::optional<SafetensorsDtype> parse_safetensors_dtype(std::string_view name) {
  for (const auto& e : kDtypes) {
    if (name == e.name) return e.dtype;
  }
  return std::nullopt;
}

const char* to_string(SafetensorsDtype dtype) { return entry(dtype).name; }
size_t element_size(SafetensorsDtype dtype) { return entry(dtype).size; }

std::string supported_safetensors_dtypes() {
  std::vector<std::string> names;
  for (const auto& e : kDtypes) names.emplace_back(e.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

SafetensorsHeader parse_safetensors_header(const std::string& file, const uint8_t* bytes, size_t file_size) {
  if (file_size < 8) {
    fail("{}: the file has {} bytes, fewer than the 8-byte safetensors header length: it is empty or "
         "truncated. HINT: re-download or re-save it",
         file, file_size);
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian
  if (header_len > kMaxSafetensorsHeaderBytes) {
    fail("{}: the safetensors header length is {} bytes, above the {} byte limit: this is not a "
         "safetensors file or it is corrupt. HINT: {}",
         file, header_len, kMaxSafetensorsHeaderBytes, kCorruptHint);
  }
  if (header_len > file_size - 8) {
    fail("{}: the safetensors header says it is {} bytes but only {} bytes follow the length: the file "
         "looks truncated (size {}, header ends at {}). HINT: re-download or re-save it",
         file, header_len, file_size - 8, file_size, 8 + header_len);
  }
  SafetensorsHeader header;
  header.data_start = 8 + header_len;
  const std::string text(reinterpret_cast<const char*>(bytes + 8), header_len);
  const nlohmann::json root = parse_header_json(file, text);
  for (const auto& [name, value] : root.items()) {
    if (name == "__metadata__") {
      header.metadata = parse_metadata(file, value);
    } else {
      header.tensors.emplace(name, parse_tensor_entry(file, name, value));
    }
  }
  check_layout(file, header, file_size);
  return header;
}

}  // namespace balcap::io
