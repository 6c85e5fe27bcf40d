// Name-mapped checkpoint loading with all-at-once error reports (see weight_loading.h).
#include "models/weight_loading.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <map>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/model_family.h"
#include "io/json_file.h"

namespace balcap {
namespace {

std::string shape_of(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool is_float(SafetensorsDtype dtype) {
  return dtype == SafetensorsDtype::F16 || dtype == SafetensorsDtype::BF16 || dtype == SafetensorsDtype::F32 ||
         dtype == SafetensorsDtype::F64;
}

// "  - a\n  - b\n ... and N more" (the first `limit` lines).
std::string bullet_list(const std::vector<std::string>& items, size_t limit = 40) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += "\n  - " + items[i];
  if (items.size() > limit) out += fmt::format("\n  ... and {} more", items.size() - limit);
  return out;
}

}  // namespace

void load_module_weights(torch::nn::Module& module, const SafetensorsCheckpoint& checkpoint,
                         const WeightLoadOptions& options) {
  std::map<std::string, at::Tensor> targets;  // module name -> parameter or buffer
  std::set<std::string> required;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    targets[item.key()] = item.value();
    required.insert(item.key());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) targets.emplace(item.key(), item.value());

  std::vector<std::string> unexpected, mis_shaped, wrong_dtype, duplicated;
  std::map<std::string, std::string> source;  // module name -> disk name
  for (const std::string& disk_name : checkpoint.names()) {
    if (options.ignored_disk_names.count(disk_name)) continue;
    const std::string name = options.to_module_name ? options.to_module_name(disk_name) : disk_name;
    const auto it = targets.find(name);
    if (it == targets.end()) {
      unexpected.push_back(disk_name);
      continue;
    }
    if (!source.emplace(name, disk_name).second) {
      duplicated.push_back(fmt::format("{} (from both {} and {})", name, source[name], disk_name));
      continue;
    }
    const SafetensorsTensorInfo& info = checkpoint.info(disk_name);
    if (info.shape != it->second.sizes().vec()) {
      mis_shaped.push_back(fmt::format("{}: {} in {} but the model expects {}", disk_name, shape_of(info.shape),
                                       checkpoint.file_of(disk_name).filename().string(),
                                       shape_of(it->second.sizes().vec())));
    } else if (!is_float(info.dtype)) {
      wrong_dtype.push_back(fmt::format("{}: {} (a float tensor is expected)", disk_name, to_string(info.dtype)));
    }
  }
  std::vector<std::string> missing;
  for (const std::string& name : required) {
    if (!source.count(name) && !options.optional_parameters.count(name)) missing.push_back(name);
  }

  std::string problems;
  if (!missing.empty()) problems += fmt::format("\n{} missing tensors:{}", missing.size(), bullet_list(missing));
  if (!unexpected.empty())
    problems += fmt::format("\n{} unexpected tensors:{}", unexpected.size(), bullet_list(unexpected));
  if (!mis_shaped.empty())
    problems += fmt::format("\n{} tensors of the wrong shape:{}", mis_shaped.size(), bullet_list(mis_shaped));
  if (!wrong_dtype.empty())
    problems += fmt::format("\n{} tensors of the wrong dtype:{}", wrong_dtype.size(), bullet_list(wrong_dtype));
  if (!duplicated.empty())
    problems += fmt::format("\n{} tensors given twice:{}", duplicated.size(), bullet_list(duplicated));
  if (!problems.empty()) {
    fail(
        "{}: the checkpoint does not match the model built from its config.json:{}\nHINT: check that "
        "config.json belongs to these weights (sizes, layer count, tie_word_embeddings) and that no "
        "shard is from another model.",
        checkpoint.path().string(), problems);
  }

  // Replace each tensor's data (no copy into the freshly initialised storage, which is dropped).
  torch::NoGradGuard no_grad;
  for (const auto& [name, disk_name] : source) {
    at::Tensor& target = targets[name];
    target.set_data(checkpoint.tensor(disk_name).to(options.device, options.dtype, /*non_blocking=*/false,
                                                    /*copy=*/true));
  }
  // Parameters not on disk (optional ones) still follow the dtype/device asked.
  for (auto& [name, target] : targets) {
    if (!source.count(name) && target.is_floating_point()) target.set_data(target.to(options.device, options.dtype));
  }
}

NamedTensors module_weights_for_saving(const torch::nn::Module& module,
                                       const std::function<std::string(const std::string&)>& to_disk_name) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    out.emplace_back(to_disk_name ? to_disk_name(item.key()) : item.key(), item.value().detach());
  }
  return out;
}

namespace {

// Files a transformers model directory may carry besides weights and config.json.
constexpr std::array<const char*, 12> kCompanionFiles = {"generation_config.json",
                                                         "tokenizer.json",
                                                         "tokenizer_config.json",
                                                         "special_tokens_map.json",
                                                         "added_tokens.json",
                                                         "vocab.json",
                                                         "merges.txt",
                                                         "tokenizer.model",
                                                         "chat_template.json",
                                                         "chat_template.jinja",
                                                         "preprocessor_config.json",
                                                         "processor_config.json"};

const char* dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16:
      return "bfloat16";
    case at::kHalf:
      return "float16";
    default:
      return "float32";
  }
}

}  // namespace

// config.json of `source_dir` with its dtype keys set to the saved weights' dtype.
void write_config_for_weights(const std::filesystem::path& source_dir, const std::filesystem::path& dir,
                              at::ScalarType dtype) {
  nlohmann::json config = read_json_file(config_json_path(source_dir));
  bool set = false;
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (config.contains(key)) config[key] = dtype_name(dtype), set = true;
  }
  if (!set) config["dtype"] = dtype_name(dtype);
  for (const char* sub : {"text_config", "vision_config"}) {
    if (config.contains(sub) && config[sub].is_object() && config[sub].contains("dtype")) {
      config[sub]["dtype"] = dtype_name(dtype);
    }
  }
  write_file_atomically(dir / "config.json", config.dump(2) + "\n");
}

void copy_companion_files(const std::filesystem::path& source_dir, const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::equivalent(source_dir, dir, ec)) return;
  for (const char* name : kCompanionFiles) {
    const std::filesystem::path from = source_dir / name;
    if (!std::filesystem::exists(from)) continue;
    std::filesystem::copy_file(from, dir / name, std::filesystem::copy_options::overwrite_existing, ec);
    BALCAP_CHECK(!ec, "cannot copy {} to {}: {}. HINT: check disk space and permissions.", from.string(), dir.string(),
                 ec.message());
  }
}

}  // namespace balcap
