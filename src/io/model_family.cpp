#include "io/model_family.h"

#include <c10/util/Exception.h>

#include <array>
#include <utility>

#include "core/error.h"
#include "io/json_file.h"

namespace balcap::io {
namespace fs = std::filesystem;
namespace {

struct FamilyNames {
  ModelFamily family;
  const char* model_type;
  const char* architecture;
};
constexpr std::array<FamilyNames, 4> kFamilies{{
    {ModelFamily::qwen2_5_vl, "qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration"},
    {ModelFamily::llava, "llava", "LlavaForConditionalGeneration"},
    {ModelFamily::qwen2, "qwen2", "Qwen2ForCausalLM"},
    {ModelFamily::llama, "llama", "LlamaForCausalLM"},
}};

std::string supported_list() {
  std::string out;
  for (const auto& f : kFamilies) out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", f.model_type, f.architecture);
  return out;
}

}  // namespace

std::string to_string(ModelFamily family) {
  for (const auto& f : kFamilies) {
    if (f.family == family) return f.model_type;
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled ModelFamily");
}

fs::path config_json_path(const fs::path& model_dir_or_file) {
  return fs::is_directory(model_dir_or_file) ? model_dir_or_file / "config.json" : model_dir_or_file;
}

ModelFamily detect_family(const fs::path& model_dir) {
  const fs::path file = config_json_path(model_dir);
  if (!fs::exists(file)) {
    fail("{}: file not found. HINT: pass a transformers model directory (with config.json) saved by "
         "save_pretrained",
         file.string());
  }
  const nlohmann::json root = read_json_file(file);
  const JsonFields fields(file, root);
  if (auto model_type = fields.get_optional_string("model_type")) {
    for (const auto& f : kFamilies) {
      if (*model_type == f.model_type) return f.family;
    }
    fields.fail_key("model_type", fmt::format("is '{}', which balcap does not support", *model_type),
                    "supported model types: " + supported_list());
  }
  std::vector<std::string> architectures;
  if (root.contains("architectures") && root["architectures"].is_array()) {
    for (const auto& arch : root["architectures"]) {
      if (arch.is_string()) architectures.push_back(arch.get<std::string>());
    }
  }
  for (const auto& arch : architectures) {
    for (const auto& f : kFamilies) {
      if (arch == f.architecture) return f.family;
    }
  }
  fields.fail_key("model_type", fmt::format("is missing and architectures [{}] name no supported model",
                                            fmt::join(architectures, ", ")),
                  "supported model types: " + supported_list());
}

}  // namespace balcap::io
