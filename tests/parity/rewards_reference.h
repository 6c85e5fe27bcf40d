#pragma once
// Reading the rewards-area references written by tests/reference/ref_rewards.py: manifest.json
// (judge cases, generations, LM cases) and the tiny judge checkpoints.
#include <ATen/ATen.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "io/json_file.h"
#include "io/safetensors_reader.h"
#include "support/test_support.h"

namespace balcap::test {

inline const nlohmann::json& rewards_manifest() {
  static const nlohmann::json manifest = io::read_json_file(reference_path("rewards", "manifest.json"));
  return manifest;
}

// Directory of the reference judge model `name` ("qwen2", "llama", "qwen_vl").
inline std::filesystem::path judge_model_dir(const std::string& name) {
  return reference_path("rewards", rewards_manifest()["models"][name]["dir"].get<std::string>());
}

// The manifest entries of `list` ("lm_cases", "judge_cases", "generations") for model `name`.
inline std::vector<nlohmann::json> rewards_entries(const std::string& list, const std::string& name) {
  std::vector<nlohmann::json> out;
  for (const auto& entry : rewards_manifest()[list]) {
    if (entry["model"] == name) out.push_back(entry);
  }
  return out;
}

// The tensors of one LM case (copied out of the mapping so they outlive it).
inline std::map<std::string, at::Tensor> load_rewards_tensors(const nlohmann::json& entry) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : io::load_safetensors(reference_path("rewards", entry["file"].get<std::string>()))) {
    out[name] = t.clone();
  }
  return out;
}

}  // namespace balcap::test
