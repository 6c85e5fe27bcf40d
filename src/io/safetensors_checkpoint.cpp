#include "io/safetensors_checkpoint.h"

#include "core/error.h"
#include "io/json_file.h"

namespace balcap::io {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";
constexpr const char* kConvertHint =
    "convert it to safetensors in python: `model = AutoModel...from_pretrained(dir); "
    "model.save_pretrained(dir, safe_serialization=True)` (or safetensors.torch.save_file on the state dict)";

std::vector<std::string> pickle_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt") out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Shards must be plain file names inside the directory: the index is input we do not trust.
void check_shard_name(const fs::path& index_path, const std::string& tensor, const std::string& shard) {
  const fs::path p(shard);
  if (shard.empty() || p.is_absolute() || p.has_parent_path() || shard == "." || shard == "..") {
    fail("{}: weight_map entry '{}' names shard '{}', which is not a file name in the model directory. "
         "HINT: fix the index (shards are listed by file name only)",
         index_path.string(), tensor, shard);
  }
}

}  // namespace

SafetensorsCheckpoint::SafetensorsCheckpoint(const fs::path& path) : path_(path) {
  if (fs::is_regular_file(path)) {
    BALCAP_CHECK(path.extension() == ".safetensors" || path.extension() == ".json",
                 "{}: not a safetensors file. HINT: {}", path.string(), kConvertHint);
    if (path.extension() == ".json") {
      open_index(path);
      return;
    }
    shards_.push_back(std::make_unique<SafetensorsFile>(path));
    for (const auto& name : shards_[0]->names()) where_[name] = 0;
    return;
  }
  BALCAP_CHECK(fs::is_directory(path), "{}: no such model directory or file. HINT: check the path", path.string());
  if (fs::exists(path / kIndexName)) {
    open_index(path / kIndexName);
  } else if (fs::exists(path / kSingleName)) {
    shards_.push_back(std::make_unique<SafetensorsFile>(path / kSingleName));
    for (const auto& name : shards_[0]->names()) where_[name] = 0;
  } else {
    const auto pickles = pickle_files(path);
    if (!pickles.empty()) {
      fail("{}: only pickle weights found ({}); balcap loads safetensors only (pickle files can run "
           "arbitrary code). HINT: {}",
           path.string(), fmt::join(pickles, ", "), kConvertHint);
    }
    fail("{}: no {} or {} in the directory. HINT: point at a transformers model directory saved with "
         "save_pretrained",
         path.string(), kIndexName, kSingleName);
  }
}

void SafetensorsCheckpoint::open_index(const fs::path& index_path) {
  const nlohmann::json root = read_json_file(index_path);
  const JsonFields fields(index_path, root);
  auto map = root.find("weight_map");
  if (map == root.end() || !map->is_object() || map->empty()) {
    fields.fail_key("weight_map", "is missing, empty or not an object of {tensor: shard file}",
                    "re-save the model with save_pretrained");
  }
  // Shard file -> tensors it should hold, in the order shards first appear.
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::string>> expected;
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string()) fields.fail_key("weight_map." + tensor, "must be a shard file name", "fix the index");
    const std::string file = shard.get<std::string>();
    check_shard_name(index_path, tensor, file);
    if (expected.find(file) == expected.end()) order.push_back(file);
    expected[file].push_back(tensor);
  }
  const fs::path dir = index_path.parent_path();
  for (const auto& file : order) {
    const auto& wanted = expected[file];
    if (!fs::exists(dir / file)) {
      fail("{}: shard '{}' named by {} is missing; it should hold {} tensors (e.g. '{}'). HINT: download "
           "or copy every model-*-of-*.safetensors file of the checkpoint",
           (dir / file).string(), file, index_path.filename().string(), wanted.size(), wanted.front());
    }
    shards_.push_back(std::make_unique<SafetensorsFile>(dir / file));
    for (const auto& tensor : wanted) {
      if (!shards_.back()->contains(tensor)) {
        fail("{}: the index places tensor '{}' in this shard but the shard does not contain it. HINT: the "
             "index and shards come from different saves; re-download or re-save the checkpoint",
             (dir / file).string(), tensor);
      }
      where_[tensor] = shards_.size() - 1;
    }
  }
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, shard] : where_) out.push_back(name);
  return out;
}

const SafetensorsFile& SafetensorsCheckpoint::shard_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) {
    fail("{}: the checkpoint has no tensor named '{}' ({} tensors). HINT: check the weight name (transformers "
         "v4 and v5 name some modules differently)",
         path_.string(), name, where_.size());
  }
  return *shards_[it->second];
}

const SafetensorsTensorInfo& SafetensorsCheckpoint::info(const std::string& name) const {
  return shard_of(name).info(name);
}

at::Tensor SafetensorsCheckpoint::tensor(const std::string& name) const { return shard_of(name).tensor(name); }

const fs::path& SafetensorsCheckpoint::file_of(const std::string& name) const { return shard_of(name).path(); }

std::vector<fs::path> SafetensorsCheckpoint::files() const {
  std::vector<fs::path> out;
  for (const auto& shard : shards_) out.push_back(shard->path());
  return out;
}

}  // namespace balcap::io
