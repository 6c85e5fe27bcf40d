#include "train/metrics_writer.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"

namespace balcap::train {

namespace fs = std::filesystem;

std::vector<std::string> metrics_lines_up_to(const fs::path& file, int64_t max_step) {
  std::vector<std::string> kept;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no trailing newline: the line was being written when the run died
    const auto row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object() || !row.contains("step") || !row["step"].is_number_integer()) continue;
    if (row["step"].get<int64_t>() <= max_step) kept.push_back(line);
  }
  return kept;
}

MetricsWriter::MetricsWriter(const fs::path& run_dir, std::optional<int64_t> resume_step)
    : path_(run_dir / "metrics.jsonl") {
  fs::create_directories(run_dir);
  std::string keep;
  if (resume_step && fs::exists(path_)) {
    for (const auto& line : metrics_lines_up_to(path_, *resume_step)) keep += line + "\n";
    spdlog::debug("metrics: kept {} bytes of {} up to step {}", keep.size(), path_.string(), *resume_step);
  }
  io::write_file_atomically(path_, keep);
  file_ = std::fopen(path_.c_str(), "ab");
  BALCAP_CHECK(file_ != nullptr, "{}: cannot open for appending: {}. HINT: check that the run directory is writable",
               path_.string(), std::strerror(errno));
}

MetricsWriter::~MetricsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsWriter::write(const nlohmann::json& row) {
  BALCAP_CHECK(row.is_object() && row.contains("step") && row["step"].is_number_integer(),
               "metrics: a row needs an integer 'step', got {}. HINT: this is a bug in the caller", row.dump());
  const auto line = row.dump() + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  BALCAP_CHECK(ok, "{}: writing failed: {}. HINT: check free disk space", path_.string(), std::strerror(errno));
}

}  // namespace balcap::train
