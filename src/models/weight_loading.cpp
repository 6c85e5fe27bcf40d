// Name-mapped checkpoint loading with all-at-once error reports (see weight_loading.h).
#include "models/weight_loading.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/model_family.h"
#include "io/json_file.h"
#include "models/fused_linears.h"

namespace balcap::models {
namespace {

std::string shape_of(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool is_float(io::SafetensorsDtype dtype) {
  return dtype == io::SafetensorsDtype::F16 || dtype == io::SafetensorsDtype::BF16 || dtype == io::SafetensorsDtype::F32 ||
         dtype == io::SafetensorsDtype::F64;
}

// "  - a\n  - b\n ... and N more" (the first `limit` lines).
std::string bullet_list(const std::vector<std::string>& items, size_t limit = 40) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += "\n  - " + items[i];
  if (items.size() > limit) out += fmt::format("\n  ... and {} more", items.size() - limit);
  return out;
}

}  // namespace

namespace {

// Every module tensor paired with the on-disk tensor that fills it, and every mismatch found.
struct WeightMatch {
  std::map<std::string, at::Tensor> targets;  // module name -> parameter or buffer
  std::map<std::string, std::string> source;  // module name -> disk name
  std::vector<std::string> missing, unexpected, mis_shaped, wrong_dtype, duplicated;
};

WeightMatch match_weights(torch::nn::Module& module, const io::SafetensorsCheckpoint& checkpoint,
                          const WeightLoadOptions& options) {
  WeightMatch m;
  std::set<std::string> required;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    m.targets[item.key()] = item.value();
    required.insert(item.key());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) m.targets.emplace(item.key(), item.value());

  for (const std::string& disk_name : checkpoint.names()) {
    if (options.ignored_disk_names.count(disk_name)) continue;
    const std::string name = options.to_module_name ? options.to_module_name(disk_name) : disk_name;
    const auto it = m.targets.find(name);
    if (it == m.targets.end()) {
      m.unexpected.push_back(disk_name);
      continue;
    }
    if (!m.source.emplace(name, disk_name).second) {
      m.duplicated.push_back(fmt::format("{} (from both {} and {})", name, m.source[name], disk_name));
      continue;
    }
    const io::SafetensorsTensorInfo& info = checkpoint.info(disk_name);
    if (info.shape != it->second.sizes().vec()) {
      m.mis_shaped.push_back(fmt::format("{}: {} in {} but the model expects {}", disk_name, shape_of(info.shape),
                                         checkpoint.file_of(disk_name).filename().string(),
                                         shape_of(it->second.sizes().vec())));
    } else if (!is_float(info.dtype)) {
      m.wrong_dtype.push_back(fmt::format("{}: {} (a float tensor is expected)", disk_name, to_string(info.dtype)));
    }
  }
  for (const std::string& name : required) {
    if (!m.source.count(name) && !options.optional_parameters.count(name)) m.missing.push_back(name);
  }
  return m;
}

// Every mismatch of `m` in one balcap::Error; returns when there is none.
void check_match(const WeightMatch& m, const io::SafetensorsCheckpoint& checkpoint) {
  std::string problems;
  if (!m.missing.empty()) problems += fmt::format("\n{} missing tensors:{}", m.missing.size(), bullet_list(m.missing));
  if (!m.unexpected.empty())
    problems += fmt::format("\n{} unexpected tensors:{}", m.unexpected.size(), bullet_list(m.unexpected));
  if (!m.mis_shaped.empty())
    problems += fmt::format("\n{} tensors of the wrong shape:{}", m.mis_shaped.size(), bullet_list(m.mis_shaped));
  if (!m.wrong_dtype.empty())
    problems += fmt::format("\n{} tensors of the wrong dtype:{}", m.wrong_dtype.size(), bullet_list(m.wrong_dtype));
  if (!m.duplicated.empty())
    problems += fmt::format("\n{} tensors given twice:{}", m.duplicated.size(), bullet_list(m.duplicated));
  if (!problems.empty()) {
    fail(
        "{}: the checkpoint does not match the model built from its config.json:{}\nHINT: check that "
        "config.json belongs to these weights (sizes, layer count, tie_word_embeddings) and that no "
        "shard is from another model.",
        checkpoint.path().string(), problems);
  }
}

}  // namespace

void load_module_weights(torch::nn::Module& module, const io::SafetensorsCheckpoint& checkpoint,
                         const WeightLoadOptions& options) {
  WeightMatch m = match_weights(module, checkpoint, options);
  check_match(m, checkpoint);
  // Replace each tensor's data (no copy into the freshly initialised storage, which is dropped).
  torch::NoGradGuard no_grad;
  for (const auto& [name, disk_name] : m.source) {
    at::Tensor& target = m.targets[name];
    target.set_data(checkpoint.tensor(disk_name).to(options.device, options.dtype, /*non_blocking=*/false,
                                                    /*copy=*/true));
  }
  // Parameters not on disk (optional ones) still follow the dtype/device asked.
  for (auto& [name, target] : m.targets) {
    if (!m.source.count(name) && target.is_floating_point()) target.set_data(target.to(options.device, options.dtype));
  }
}

io::NamedTensors module_weights_for_saving(const torch::nn::Module& module,
                                       const std::function<std::string(const std::string&)>& to_disk_name) {
  io::NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    out.emplace_back(to_disk_name ? to_disk_name(item.key()) : item.key(), item.value().detach());
  }
  return out;
}

void check_load_dtype(const std::filesystem::path& dir, at::ScalarType dtype) {
  BALCAP_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf,
               "{}: cannot load weights as {}. HINT: use float32, bfloat16 or float16.", dir.string(),
               c10::toString(dtype));
}

// The checkpoint's name of the module's output head (lm_head.weight; LLaVA's hub files spell it
// language_model.lm_head.weight), or nullopt when the file has none.
std::optional<std::string> head_on_disk(const io::SafetensorsCheckpoint& checkpoint, const WeightLoadOptions& options) {
  for (const std::string& name : checkpoint.names()) {
    if ((options.to_module_name ? options.to_module_name(name) : name) == "lm_head.weight") return name;
  }
  return std::nullopt;
}

void load_pretrained_weights(torch::nn::Module& model, const std::filesystem::path& dir,
                             const io::SafetensorsCheckpoint& checkpoint, bool tie_word_embeddings,
                             WeightLoadOptions options) {
  const std::optional<std::string> head = head_on_disk(checkpoint, options);
  if (tie_word_embeddings && head) {
    // transformers ties after loading, so the stored copy is never used either.
    spdlog::warn("{}: tie_word_embeddings is true; the stored {} is ignored", dir.string(), *head);
    options.ignored_disk_names.insert(*head);
  }
  try {
    load_module_weights(model, checkpoint, options);
  } catch (const Error& e) {
    if (!tie_word_embeddings && !head) {
      fail(
          "{}\n(the output head (lm_head.weight) is absent and config.json has tie_word_embeddings false, so it is "
          "required. HINT: if this model really ties its head to the embeddings, set tie_word_embeddings: true.)",
          e.what());
    }
    throw;
  }
  fuse_inference_projections(model);  // q/k/v and gate/up as one GEMM each when decoding
  model.eval();
}

void save_pretrained_weights(const torch::nn::Module& model, const std::filesystem::path& dir,
                             const std::filesystem::path& source_dir,
                             const std::function<std::string(const std::string&)>& to_disk_name,
                             uint64_t max_shard_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  BALCAP_CHECK(!ec, "{}: cannot create the directory: {}. HINT: check the path and permissions.", dir.string(),
               ec.message());
  const io::NamedTensors tensors = module_weights_for_saving(model, to_disk_name);
  BALCAP_CHECK(!tensors.empty(), "{}: the model has no parameters to save. HINT: this is a bug.", dir.string());
  io::save_sharded_safetensors(dir, tensors, max_shard_bytes, {{"format", "pt"}});
  write_config_for_weights(source_dir, dir, tensors.front().second.scalar_type());
  copy_companion_files(source_dir, dir);
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
  nlohmann::json config = io::read_json_file(io::config_json_path(source_dir));
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
  io::write_file_atomically(dir / "config.json", config.dump(2) + "\n");
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

}  // namespace balcap::models
