#include "io/generation_config.h"

#include "core/error.h"
#include "io/json_file.h"

namespace balcap::io {
namespace fs = std::filesystem;

GenerationConfig load_generation_config(const fs::path& model_dir_or_file) {
  const fs::path path =
      fs::is_directory(model_dir_or_file) ? model_dir_or_file / "generation_config.json" : model_dir_or_file;
  const nlohmann::json root = read_json_file(path);
  const JsonFields f(path, root);
  GenerationConfig c;
  c.bos_token_id = f.get_optional_int("bos_token_id");
  c.eos_token_ids = f.get_int_list("eos_token_id", {}, /*int_or_list=*/true);
  c.pad_token_id = f.get_optional_int("pad_token_id");
  c.do_sample = f.get_optional_bool("do_sample");
  c.temperature = f.get_optional_double("temperature");
  c.top_p = f.get_optional_double("top_p");
  c.top_k = f.get_optional_int("top_k");
  c.repetition_penalty = f.get_optional_double("repetition_penalty");
  c.max_new_tokens = f.get_optional_int("max_new_tokens");
  c.max_length = f.get_optional_int("max_length");
  // Same ranges transformers' GenerationConfig.validate / the logits processors accept.
  if (c.temperature && *c.temperature < 0) f.fail_key("temperature", "must be >= 0", "use 0 < t (or do_sample false)");
  if (c.top_p && !(*c.top_p > 0 && *c.top_p <= 1)) f.fail_key("top_p", "must be in (0, 1]", "use e.g. 0.9");
  if (c.top_k && *c.top_k < 0) f.fail_key("top_k", "must be >= 0", "use 0 to disable top-k");
  if (c.repetition_penalty && *c.repetition_penalty <= 0) {
    f.fail_key("repetition_penalty", "must be > 0", "use 1.0 for no penalty");
  }
  if (c.max_new_tokens && *c.max_new_tokens <= 0) f.fail_key("max_new_tokens", "must be positive", "fix the value");
  return c;
}

}  // namespace balcap::io
