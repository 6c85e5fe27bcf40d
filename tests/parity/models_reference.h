#pragma once
// Reading the models-area references written by tests/reference/ref_models.py: manifest.json,
// the tiny checkpoints and the per-case tensors (safetensors).
#include <ATen/ATen.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "io/json_file.h"
#include "io/safetensors_reader.h"
#include "support/test_support.h"

namespace balcap::test {

inline const nlohmann::json& models_manifest() {
  static const nlohmann::json manifest = io::read_json_file(reference_path("models", "manifest.json"));
  return manifest;
}

// Directory of the reference model `name` ("tied", "untied", "untied_legacy", "untied_v5names").
inline std::filesystem::path reference_model_dir(const std::string& name) {
  return reference_path("models", models_manifest()["models"][name]["dir"].get<std::string>());
}

// The tensors of one case (copied out of the mapping so they outlive it).
inline std::map<std::string, at::Tensor> load_case(const nlohmann::json& entry) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : io::load_safetensors(reference_path("models", entry["file"].get<std::string>()))) {
    out[name] = t.clone();
  }
  return out;
}

inline const nlohmann::json& find_case(const std::string& name) {
  for (const auto& entry : models_manifest()["cases"]) {
    if (entry["name"] == name) return entry;
  }
  throw std::runtime_error("no reference case " + name);
}

}  // namespace balcap::test
