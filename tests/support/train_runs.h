#pragma once
// Helpers of the end-to-end training tests (tests/e2e/train_*_test.cpp): synthetic data, config files,
// reading a run's metrics.jsonl, and comparing two runs within a tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/safetensors_reader.h"
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

// |a - b| / max(|a|, 0.01): quantities that are 0 by construction (the PPO loss of zero-mean
// advantages, ~1e-7 here) are compared absolutely.
inline double relative(double a, double b) { return std::abs(a - b) / std::max(std::abs(a), 1e-2); }

// Runs a and b (run dirs): every numeric field of step `step` (1-based) except wall-clock ones agrees within `tolerance`.
inline void expect_same_row(const fs::path& a, const fs::path& b, int step, double tolerance) {
  const auto ra = metrics_rows(a), rb = metrics_rows(b);
  ASSERT_GE(ra.size(), static_cast<size_t>(step));
  ASSERT_GE(rb.size(), static_cast<size_t>(step));
  const nlohmann::json &x = ra[step - 1], &y = rb[step - 1];
  int compared = 0;
  for (const auto& [key, value] : x.items()) {
    if (!value.is_number() || key.rfind("time/", 0) == 0 || key.rfind("perf/", 0) == 0 || key.rfind("memory/", 0) == 0) continue;
    ASSERT_TRUE(y.contains(key)) << key;
    EXPECT_LE(relative(value.get<double>(), y[key].get<double>()), tolerance)
        << "step " << step << " " << key << ": " << value << " vs " << y[key];
    ++compared;
  }
  EXPECT_GE(compared, 25);
  for (const char* exact : {"images", "captions", "tokens/rollout", "tokens/update", "optimizer_steps"}) {
    EXPECT_EQ(x[exact], y[exact]) << exact;
  }
}

// The saved weights of step `step` of runs a and b (tiny_policy runs): ||a - b|| <= tolerance x ||a|| for every tensor, and they moved.
// (Elementwise, AdamW's normalisation turns the rounding of a near-zero gradient into a visible step.)
inline void expect_same_weights(const fs::path& a, const fs::path& b, int step, double tolerance) {
  const auto file = [&](const fs::path& run) {
    return run / "checkpoints" / ("step-" + std::to_string(step)) / "model" / "model.safetensors";
  };
  const auto wa = io::load_safetensors(file(a)), wb = io::load_safetensors(file(b));
  const auto base = io::load_safetensors(reference_path("train", "tiny_policy") / "model.safetensors");
  double worst = 0, moved = 0;
  std::string worst_name;
  for (const auto& [name, t] : wa) {
    const double d = ((t - wb.at(name)).norm() / t.norm()).item<double>();
    if (d > worst) worst = d, worst_name = name;
    moved = std::max(moved, ((t - base.at(name)).norm() / t.norm()).item<double>());
  }
  std::cout << "step " << step << " weights: largest ||a - b|| / ||a|| " << worst << " (" << worst_name
            << "); largest change from the start " << moved << "\n";
  EXPECT_LE(worst, tolerance) << worst_name;
  EXPECT_GT(moved, 1e-3);
}

}  // namespace balcap::test
