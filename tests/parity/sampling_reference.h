#pragma once
// The sampling-area references written by tests/reference/ref_sampling.py: reference.json, the tiny
// checkpoints, the images and the warped next-token distributions; plus the loaded policies.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/json_file.h"
#include "models/caption_prompt.h"
#include "models/load_policy.h"
#include "models/qwen2_5_vl_policy.h"
#include "sampling/sampler.h"
#include "vision/image.h"
#include "support/test_support.h"

namespace balcap::test {

inline const nlohmann::json& sampling_ref() {
  static const nlohmann::json ref = io::read_json_file(reference_path("sampling", "reference.json"));
  return ref;
}

// A reference model ("model", "model_tied", "model_stops"; "llava/model", "llava/model_sp") loaded once
// through load_policy, with its prompts for the reference images (build_caption_prompt with the
// reference instruction: each family's chat template).
struct SamplingModel {
  std::unique_ptr<models::Policy> policy;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::vector<models::PolicyPrompt> prompts;
};

inline SamplingModel& sampling_model(const std::string& name = "model") {
  static std::map<std::string, SamplingModel> models;
  auto it = models.find(name);
  if (it != models.end()) return it->second;
  const auto dir = reference_path("sampling", name);
  SamplingModel m{models::load_policy(dir), text::load_tokenizer(dir), {}};
  const auto processor = vision::load_image_processor(dir);
  for (const auto& image : sampling_ref()["images"]) {
    const auto decoded = vision::decode_image_file(reference_path("sampling", image.get<std::string>()));
    m.prompts.push_back(models::build_caption_prompt(*m.tokenizer, *processor, decoded, sampling_ref()["instruction"], ""));
  }
  return models.emplace(name, std::move(m)).first->second;
}

// Requests for the given reference images, image_key = image index.
inline std::vector<sampling::SampleRequest> requests_for(SamplingModel& m, const std::vector<int>& images) {
  std::vector<sampling::SampleRequest> out;
  for (int i : images) out.push_back({m.prompts.at(i), i});
  return out;
}

inline sampling::SamplingParams greedy_params(int64_t max_new_tokens) {
  sampling::SamplingParams p;
  p.greedy = true;
  p.max_new_tokens = max_new_tokens;
  return p;
}

}  // namespace balcap::test
