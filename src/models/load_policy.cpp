// Family dispatch for loading a policy (see load_policy.h).
#include "models/load_policy.h"

#include "core/error.h"
#include "io/model_family.h"
#include "models/llava_policy.h"
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
      return LlavaPolicy::load(dir, dtype, device);
  }
  fail("{}: unknown model family. HINT: this is a bug in balcap.", io::config_json_path(dir).string());
}

}  // namespace balcap::models
