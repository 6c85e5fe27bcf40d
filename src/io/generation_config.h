#pragma once
// generation_config.json: the sampling settings and stop ids a checkpoint ships with. Fields
// absent from the file stay unset (transformers v5 also leaves them None and applies its global
// defaults at generate time: greedy, temperature 1, top_k 50, top_p 1, repetition_penalty 1).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace balcap::io {

struct GenerationConfig {
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // `eos_token_id` as int or list; generation stops at any
  std::optional<int64_t> pad_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_new_tokens;
  std::optional<int64_t> max_length;
};

// Reads `model_dir`/generation_config.json (or the path itself when it names a file). Wrong types
// or out-of-range values (temperature < 0, top_p outside (0, 1], ...) -> balcap::Error naming file and key.
GenerationConfig load_generation_config(const std::filesystem::path& model_dir_or_file);

}  // namespace balcap::io
