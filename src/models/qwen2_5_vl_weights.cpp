// Qwen2.5-VL checkpoint loading and saving (see qwen2_5_vl_weights.h).
#include "models/qwen2_5_vl_weights.h"

#include <set>

#include "core/error.h"
#include "io/model_family.h"
#include "io/safetensors_checkpoint.h"
#include "models/weight_loading.h"

namespace balcap::models {
namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

constexpr std::string_view kLanguage = "model.language_model.";
constexpr std::string_view kVisual = "model.visual.";

}  // namespace

const char* to_string(WeightLayout layout) { return layout == WeightLayout::hub ? "hub" : "v5"; }

std::string qwen2_5_vl_module_name(const std::string& disk_name) {
  if (starts_with(disk_name, kLanguage) || starts_with(disk_name, kVisual)) return disk_name;
  if (starts_with(disk_name, "visual.")) return "model." + disk_name;
  if (starts_with(disk_name, "model.")) return std::string(kLanguage) + disk_name.substr(6);
  return disk_name;
}

std::string qwen2_5_vl_hub_name(const std::string& module_name) {
  if (starts_with(module_name, kLanguage)) return "model." + module_name.substr(kLanguage.size());
  if (starts_with(module_name, kVisual)) return module_name.substr(6);  // drop "model."
  return module_name;
}

Qwen2_5_VLCheckpoint load_qwen2_5_vl(const fs::path& dir, at::ScalarType dtype, at::Device device) {
  check_load_dtype(dir, dtype);
  const io::ModelFamily family = io::detect_family(dir);
  BALCAP_CHECK(family == io::ModelFamily::qwen2_5_vl,
               "{}: model_type is '{}', not a Qwen2.5-VL checkpoint. HINT: point --model at a Qwen2.5-VL "
               "directory (e.g. Qwen/Qwen2.5-VL-3B-Instruct); other families are not supported here yet.",
               io::config_json_path(dir).string(), to_string(family));

  Qwen2_5_VLCheckpoint out;
  out.dir = dir;
  out.config = io::load_qwen2_5_vl_config(dir);
  if (fs::exists(dir / "generation_config.json")) out.generation = io::load_generation_config(dir);
  const io::SafetensorsCheckpoint checkpoint(dir);

  out.layout = WeightLayout::hub;
  for (const std::string& name : checkpoint.names()) {
    if (starts_with(name, kLanguage) || starts_with(name, kVisual)) out.layout = WeightLayout::v5;
  }
  {
    torch::NoGradGuard no_grad;
    out.model = Qwen2_5_VLForConditionalGeneration(out.config);
  }
  WeightLoadOptions options;
  options.to_module_name = qwen2_5_vl_module_name;
  options.dtype = dtype;
  options.device = device;
  load_pretrained_weights(*out.model, dir, checkpoint, out.config.tie_word_embeddings, std::move(options));
  return out;
}

void save_qwen2_5_vl(Qwen2_5_VLForConditionalGeneration& model, const fs::path& dir, WeightLayout layout,
                     const fs::path& source_dir, uint64_t max_shard_bytes) {
  const auto to_disk = layout == WeightLayout::hub ? std::function<std::string(const std::string&)>(qwen2_5_vl_hub_name)
                                                   : std::function<std::string(const std::string&)>();
  save_pretrained_weights(*model, dir, source_dir, to_disk, max_shard_bytes);
}

}  // namespace balcap::models
