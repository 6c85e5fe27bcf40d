#include "io/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors_reader.h"

namespace balcap::io {
namespace fs = std::filesystem;
namespace {

struct Prepared {
  std::string name;
  SafetensorsDtype dtype;
  at::Tensor cpu;  // contiguous CPU copy (or the tensor itself when already so)
};

std::vector<Prepared> prepare(const fs::path& path, const NamedTensors& tensors) {
  std::vector<Prepared> out;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    BALCAP_CHECK(!name.empty() && name != "__metadata__",
                 "{}: invalid tensor name '{}'. HINT: use a non-empty name other than __metadata__", path.string(), name);
    BALCAP_CHECK(seen.insert(name).second, "{}: tensor '{}' given twice. HINT: tensor names must be unique",
                 path.string(), name);
    BALCAP_CHECK(tensor.defined(), "{}: tensor '{}' is undefined. HINT: pass a real tensor", path.string(), name);
    auto dtype = to_safetensors_dtype(tensor.scalar_type());
    BALCAP_CHECK(dtype.has_value(), "{}: tensor '{}' has dtype {} which safetensors files here cannot hold "
                 "(supported: {}). HINT: convert it first, e.g. tensor.to(at::kFloat)",
                 path.string(), name, c10::toString(tensor.scalar_type()), supported_safetensors_dtypes());
    out.push_back({name, *dtype, tensor.to(at::kCPU).resolve_neg().resolve_conj().contiguous()});
  }
  // Largest elements first, then by name: with an 8-aligned header every tensor is aligned.
  std::sort(out.begin(), out.end(), [](const Prepared& a, const Prepared& b) {
    const size_t sa = element_size(a.dtype), sb = element_size(b.dtype);
    return sa != sb ? sa > sb : a.name < b.name;
  });
  return out;
}

// The header bytes (length prefix + JSON padded to 8) for `prepared`, laid out back to back.
std::string header_bytes(const std::vector<Prepared>& prepared, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  nlohmann::ordered_json meta(metadata);
  if (!meta.contains("format")) meta["format"] = "pt";
  header["__metadata__"] = meta;
  uint64_t offset = 0;
  for (const auto& p : prepared) {
    const uint64_t nbytes = uint64_t(p.cpu.numel()) * element_size(p.dtype);
    header[p.name] = {{"dtype", to_string(p.dtype)}, {"shape", p.cpu.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // pad so the data section starts 8-aligned
  std::string bytes(8, '\0');
  const uint64_t len = json.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);  // little-endian
  return bytes + json;
}

uint64_t tensor_bytes(const at::Tensor& t) { return uint64_t(t.numel()) * t.element_size(); }

// Greedy split in the given order, as huggingface_hub's split_state_dict_into_shards_factory.
std::vector<NamedTensors> split_into_shards(const NamedTensors& tensors, uint64_t max_shard_bytes) {
  std::vector<NamedTensors> shards;
  NamedTensors current;
  uint64_t current_bytes = 0;
  for (const auto& item : tensors) {
    const uint64_t size = tensor_bytes(item.second);
    if (size > max_shard_bytes) {
      shards.push_back({item});
      continue;
    }
    if (current_bytes + size > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(item);
    current_bytes += size;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));
  return shards;
}

// model.safetensors, model.safetensors.index.json and model-*-of-*.safetensors not in `keep`.
void remove_stale_weights(const fs::path& dir, const std::set<std::string>& keep) {
  static const std::regex shard_name(R"(model-\d{5}-of-\d{5}\.safetensors)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name == "model.safetensors" || name == "model.safetensors.index.json" ||
                      std::regex_match(name, shard_name);
    if (ours && keep.count(name) == 0) fs::remove(entry.path());
  }
}

}  // namespace

void save_safetensors(const fs::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::vector<Prepared> prepared = prepare(path, tensors);
  // Streamed tensor by tensor: a multi-GB shard is never held twice in memory.
  AtomicFileWriter out(path);
  const std::string header = header_bytes(prepared, metadata);
  out.write(header.data(), header.size());
  for (const auto& p : prepared) out.write(p.cpu.data_ptr(), size_t(p.cpu.numel()) * element_size(p.dtype));
  out.commit();
}

std::vector<fs::path> save_sharded_safetensors(const fs::path& dir,
                                               const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                               uint64_t max_shard_bytes,
                                               const std::map<std::string, std::string>& metadata) {
  BALCAP_CHECK(max_shard_bytes > 0, "{}: max shard size must be positive. HINT: pass e.g. 5 GB", dir.string());
  std::set<std::string> names;
  for (const auto& item : tensors) {
    BALCAP_CHECK(names.insert(item.first).second, "{}: tensor '{}' given twice. HINT: tensor names must be unique",
                 dir.string(), item.first);
  }
  fs::create_directories(dir);
  const std::vector<NamedTensors> shards = split_into_shards(tensors, max_shard_bytes);
  if (shards.size() == 1) {
    const fs::path file = dir / "model.safetensors";
    save_safetensors(file, tensors, metadata);
    remove_stale_weights(dir, {"model.safetensors"});
    return {file};
  }
  std::vector<fs::path> written;
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  uint64_t total_size = 0, total_parameters = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    save_safetensors(dir / name, shards[i], metadata);
    written.push_back(dir / name);
    for (const auto& [tensor_name, tensor] : shards[i]) {
      weight_map[tensor_name] = name;
      total_size += tensor_bytes(tensor);
      total_parameters += uint64_t(tensor.numel());
    }
  }
  nlohmann::json index = {{"metadata", {{"total_parameters", total_parameters}, {"total_size", total_size}}},
                          {"weight_map", weight_map}};  // nlohmann::json sorts keys, as json.dumps(sort_keys=True)
  const fs::path index_path = dir / "model.safetensors.index.json";
  write_file_atomically(index_path, index.dump(2) + "\n");
  written.push_back(index_path);
  std::set<std::string> keep;
  for (const auto& p : written) keep.insert(p.filename().string());
  remove_stale_weights(dir, keep);
  return written;
}

}  // namespace balcap::io
