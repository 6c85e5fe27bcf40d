#pragma once
// `model:` — which checkpoint is the policy and how it is read.
#include <cstdint>
#include <string>

#include "config/spec.h"

namespace balcap::config {

struct ModelConfig {
  std::string path;             // HF checkpoint directory (config.json + safetensors)
  std::string family = "auto";  // auto = from config.json's model_type
  std::string tokenizer;        // empty = the tokenizer files in `path`
  std::string reference_path;   // frozen KL reference; empty = `path`
  std::int64_t min_pixels = 0;  // 0 = preprocessor_config.json's value
  std::int64_t max_pixels = 0;  // 0 = preprocessor_config.json's value

  template <class V>
  void visit(V& v) {
    v.field("path", path,
            "Policy checkpoint: a Hugging Face model directory (config.json, *.safetensors, "
            "tokenizer files). Need not exist when the config is checked.",
            Spec().required());
    v.field("family", family, "Model family; `auto` reads `model_type` from the checkpoint's config.json.",
            Spec().one_of({"auto", "qwen2_5_vl", "llava"}));
    v.field("tokenizer", tokenizer, "Tokenizer directory; empty = the checkpoint directory.");
    v.field("reference_path", reference_path,
            "Frozen reference policy for the KL term (loaded only when algo.kl_coef > 0); "
            "empty = the initial weights of `path`.");
    v.field("min_pixels", min_pixels,
            "Qwen2-VL processor: fewest pixels per image after resizing; 0 = the checkpoint's "
            "preprocessor_config.json.",
            Spec().at_least(0));
    v.field("max_pixels", max_pixels,
            "Qwen2-VL processor: most pixels per image after resizing; 0 = the checkpoint's "
            "preprocessor_config.json.",
            Spec().at_least(0));
  }
  bool operator==(const ModelConfig&) const = default;
};

}  // namespace balcap::config
