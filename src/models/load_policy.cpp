// Family dispatch for loading a policy (see load_policy.h).
#include "models/load_policy.h"

#include "core/error.h"
#include "io/model_family.h"
#include "models/qwen2_5_vl_policy.h"
#include "models/text_causal_lm_policy.h"

namespace balcap::models {

std::unique_ptr<Policy> load_policy(const std::filesystem::path& dir, at::ScalarType dtype, at::Device device) {
  switch (io::detect_family(dir)) {
    case io::ModelFamily::qwen2_5_vl:
      return Qwen2_5_VLPolicy::load(dir, dtype, device);
    case io::ModelFamily::qwen2:
    case io::ModelFamily::llama:
      return TextCausalLMPolicy::load(dir, dtype, device);
    case io::ModelFamily::llava:
      break;
  }
  fail(
      "{}: LLaVA checkpoints (model_type 'llava') are not supported yet. HINT: use a Qwen2.5-VL checkpoint "
      "(e.g. Qwen/Qwen2.5-VL-3B-Instruct) for the policy or a vision judge, or a Qwen2/LLaMA text checkpoint "
      "for a text judge.",
      io::config_json_path(dir).string());
}

}  // namespace balcap::models
