#pragma once
// Which model family a transformers directory holds, from config.json's `model_type`
// (or, when absent, `architectures[0]`).
#include <filesystem>
#include <string>

namespace balcap::io {

enum class ModelFamily { qwen2_5_vl, llava, qwen2, llama };

// "qwen2_5_vl", "llava", "qwen2", "llama" (the transformers model_type).
std::string to_string(ModelFamily family);

// Reads `model_dir`/config.json (or `model_dir` itself when it is a .json file). An unknown or
// missing model type -> balcap::Error naming the file and value and listing the supported ones.
ModelFamily detect_family(const std::filesystem::path& model_dir);

// config.json of a model directory, or the path itself when it names a file.
std::filesystem::path config_json_path(const std::filesystem::path& model_dir_or_file);

}  // namespace balcap::io
