#include "fuzz_support.h"

#include <unistd.h>

#include <fstream>

#include "core/log.h"

namespace balcap::fuzz {
namespace {

struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() : path(std::filesystem::temp_directory_path() / ("balcap-fuzz-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

const std::filesystem::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path;
}

std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
  const std::filesystem::path file = scratch_dir() / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("fuzz: cannot write the scratch file " + file.string());
  return file;
}

std::filesystem::path test_data_dir() { return BALCAP_FUZZ_DATA_DIR; }

void quiet_logs() {
  static const bool done = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)done;
}

std::span<const Harness> all_harnesses() {
  static const Harness harnesses[] = {
      {"safetensors", safetensors},     {"tokenizer_json", tokenizer_json}, {"tokenizer_model", tokenizer_model},
      {"tokenize", tokenize},           {"image", image},                   {"config", config},
      {"dataset", dataset},             {"serve_request", serve_request},   {"judge_reply", judge_reply},
      {"trainer_state", trainer_state},
  };
  return harnesses;
}

}  // namespace balcap::fuzz
