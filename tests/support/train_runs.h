#pragma once
// Helpers of the end-to-end training tests (tests/e2e/train_*_test.cpp): synthetic data, config files,
// and reading a run's metrics.jsonl.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace balcap::test {

// `n` synthetic records (balcap data synth, seed 1) in dir/train.jsonl.
inline fs::path synth_data(const fs::path& dir, int n = 3) {
  const CommandResult r =
      run_balcap("data synth --out " + shell_quote(dir.string()) + " --n " + std::to_string(n) + " --seed 1");
  if (r.exit_code != 0) throw std::runtime_error("balcap data synth failed: " + r.err);
  return dir / "train.jsonl";
}

inline fs::path write_config(const fs::path& dir, const std::string& yaml) {
  fs::create_directories(dir);
  write_file(dir / "cfg.yaml", yaml);
  return dir / "cfg.yaml";
}

inline std::vector<nlohmann::json> metrics_rows(const fs::path& run_dir) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(run_dir / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

}  // namespace balcap::test
