#pragma once
// Private to src/train: RUN_DIR/metrics.jsonl: one JSON object per training step, each with an integer "step", flushed
// line by line (a crash loses at most the line being written).
//
//   MetricsWriter metrics(run_dir, resumed ? std::optional<int64_t>(state.step) : std::nullopt);
//   metrics.write({{"step", 4}, {"loss", 0.12}, {"lr", 1e-6}});
//
// Resume: lines with step > the resumed step (written after the checkpoint by the interrupted run)
// and a torn last line are dropped, so the file ends up equal to an uninterrupted run's. A fresh
// start (nullopt) truncates an existing file. Keys are written sorted (nlohmann::json objects), so
// equal rows are equal bytes; NaN/Inf are written as null (JSON has no such numbers).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace balcap::train {

class MetricsWriter {
 public:
  MetricsWriter(const std::filesystem::path& run_dir, std::optional<int64_t> resume_step);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // `row` must be an object with an integer "step" (else balcap::Error). Write failures -> balcap::Error.
  void write(const nlohmann::json& row);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// The rows of a metrics.jsonl kept on resume: parsed lines with step <= `max_step`, in order.
std::vector<std::string> metrics_lines_up_to(const std::filesystem::path& file, int64_t max_step);

}  // namespace balcap::train
