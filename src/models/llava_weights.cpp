// LLaVA-1.5 checkpoint loading and saving (see llava_weights.h). Spec: transformers'
// conversion_mapping.py ("llava" renamings, CLIPVisionModel's vision_model prefix).
#include "models/llava_weights.h"

#include <array>
#include <utility>

#include "core/error.h"
#include "io/model_family.h"
#include "io/safetensors_checkpoint.h"
#include "models/weight_loading.h"

namespace balcap::models {
namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

std::string replace_prefix(const std::string& s, std::string_view from, std::string_view to) {
  return std::string(to) + s.substr(from.size());
}

// (disk prefix, module prefix), most specific first.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kToModule{{
    {"language_model.model.", "model.language_model."},
    {"language_model.lm_head.", "lm_head."},
    {"vision_tower.vision_model.", "model.vision_tower."},
    {"vision_tower.", "model.vision_tower."},
    {"multi_modal_projector.", "model.multi_modal_projector."},
    {"model.vision_tower.vision_model.", "model.vision_tower."},
}};

LlavaLayout detect_layout(const io::SafetensorsCheckpoint& checkpoint) {
  LlavaLayout layout;
  bool vision_seen = false;
  for (const std::string& name : checkpoint.names()) {
    if (starts_with(name, "model.") || starts_with(name, "lm_head.")) layout.in_memory = true;
    const bool vision = starts_with(name, "vision_tower.") || starts_with(name, "model.vision_tower.");
    if (vision && !vision_seen) {
      vision_seen = true;
      layout.vision_model_level = name.find("vision_tower.vision_model.") != std::string::npos;
    }
  }
  return layout;
}

}  // namespace

std::string llava_module_name(const std::string& disk_name) {
  for (const auto& [disk, module] : kToModule) {
    if (starts_with(disk_name, disk)) return replace_prefix(disk_name, disk, module);
  }
  return disk_name;
}

std::string llava_disk_name(const std::string& module_name, const LlavaLayout& layout) {
  constexpr std::string_view kVision = "model.vision_tower.";
  if (starts_with(module_name, kVision)) {
    const std::string level = layout.vision_model_level ? "vision_model." : "";
    return (layout.in_memory ? "model.vision_tower." : "vision_tower.") + level + module_name.substr(kVision.size());
  }
  if (layout.in_memory) return module_name;
  if (starts_with(module_name, "model.language_model.")) {
    return replace_prefix(module_name, "model.language_model.", "language_model.model.");
  }
  if (starts_with(module_name, "lm_head.")) return "language_model." + module_name;
  if (starts_with(module_name, "model.multi_modal_projector.")) return module_name.substr(6);  // drop "model."
  return module_name;
}

LlavaCheckpoint load_llava(const fs::path& dir, at::ScalarType dtype, at::Device device) {
  check_load_dtype(dir, dtype);
  const io::ModelFamily family = io::detect_family(dir);
  BALCAP_CHECK(family == io::ModelFamily::llava,
               "{}: model_type is '{}', not a LLaVA checkpoint. HINT: load it with load_policy, which picks the "
               "loader for each family.",
               io::config_json_path(dir).string(), to_string(family));
  LlavaCheckpoint out;
  out.dir = dir;
  out.config = io::load_llava_config(dir);
  if (fs::exists(dir / "generation_config.json")) out.generation = io::load_generation_config(dir);
  const io::SafetensorsCheckpoint checkpoint(dir);
  out.layout = detect_layout(checkpoint);
  {
    torch::NoGradGuard no_grad;
    out.model = LlavaForConditionalGeneration(out.config);
  }
  WeightLoadOptions options;
  options.to_module_name = llava_module_name;
  options.dtype = dtype;
  options.device = device;
  load_pretrained_weights(*out.model, dir, checkpoint, out.config.tie_word_embeddings, std::move(options));
  return out;
}

void save_llava(LlavaForConditionalGeneration& model, const fs::path& dir, const LlavaLayout& layout,
                const fs::path& source_dir, uint64_t max_shard_bytes) {
  save_pretrained_weights(
      *model, dir, source_dir, [layout](const std::string& name) { return llava_disk_name(name, layout); },
      max_shard_bytes);
}

}  // namespace balcap::models
