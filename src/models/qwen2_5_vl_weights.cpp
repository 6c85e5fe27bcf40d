// Qwen2.5-VL checkpoint loading and saving (see qwen2_5_vl_weights.h).
#include "models/qwen2_5_vl_weights.h"

#include <array>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/model_family.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"
#include "models/fused_linears.h"
#include "models/weight_loading.h"

namespace balcap {
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
  BALCAP_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf,
               "{}: cannot load weights as {}. HINT: use float32, bfloat16 or float16.", dir.string(),
               c10::toString(dtype));
  const ModelFamily family = detect_family(dir);
  BALCAP_CHECK(family == ModelFamily::qwen2_5_vl,
               "{}: model_type is '{}', not a Qwen2.5-VL checkpoint. HINT: point --model at a Qwen2.5-VL "
               "directory (e.g. Qwen/Qwen2.5-VL-3B-Instruct); other families are not supported here yet.",
               config_json_path(dir).string(), to_string(family));

  Qwen2_5_VLCheckpoint out;
  out.dir = dir;
  out.config = load_qwen2_5_vl_config(dir);
  if (fs::exists(dir / "generation_config.json")) out.generation = load_generation_config(dir);
  const SafetensorsCheckpoint checkpoint(dir);

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
  if (out.config.tie_word_embeddings && checkpoint.contains("lm_head.weight")) {
    // transformers ties after loading, so the stored copy is never used either.
    spdlog::warn("{}: tie_word_embeddings is true; the stored lm_head.weight is ignored", dir.string());
    options.ignored_disk_names.insert("lm_head.weight");
  }
  try {
    load_module_weights(*out.model, checkpoint, options);
  } catch (const Error& e) {
    if (!out.config.tie_word_embeddings && !checkpoint.contains("lm_head.weight")) {
      fail(
          "{}\n(lm_head.weight is absent and config.json has tie_word_embeddings false, so it is required. "
          "HINT: if this model really ties its head to the embeddings, set tie_word_embeddings: true.)",
          e.what());
    }
    throw;
  }
  fuse_inference_projections(*out.model);  // q/k/v and gate/up as one GEMM each when decoding
  out.model->eval();
  return out;
}

void save_qwen2_5_vl(Qwen2_5_VLForConditionalGeneration& model, const fs::path& dir, WeightLayout layout,
                     const fs::path& source_dir, uint64_t max_shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  BALCAP_CHECK(!ec, "{}: cannot create the directory: {}. HINT: check the path and permissions.", dir.string(),
               ec.message());
  const auto to_disk = layout == WeightLayout::hub ? std::function<std::string(const std::string&)>(qwen2_5_vl_hub_name)
                                                   : std::function<std::string(const std::string&)>();
  const NamedTensors tensors = module_weights_for_saving(*model, to_disk);
  BALCAP_CHECK(!tensors.empty(), "{}: the model has no parameters to save. HINT: this is a bug.", dir.string());
  const at::ScalarType dtype = tensors.front().second.scalar_type();
  save_sharded_safetensors(dir, tensors, max_shard_bytes, {{"format", "pt"}});
  write_config_for_weights(source_dir, dir, dtype);
  copy_companion_files(source_dir, dir);
}

}  // namespace balcap
