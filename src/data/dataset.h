#pragma once
// The JSONL captioning dataset (docs/data.md): one JSON object per line,
//   {"id", "image" (relative to the JSONL file), "references": [str],
//    "qa": [{"question", "choices": [str], "answer": index | choice text}] (optional),
//    "claims": [str] (optional), "scene": {...} (optional, synthetic scenes)}
// The whole file is validated once when loaded: invalid UTF-8, bad JSON, missing or mistyped
// fields, missing or unreadable images (the file exists and its header decodes), duplicate ids.
// Every problem is reported with its line; `skip` logs each bad line and the count and keeps the
// good records, `fail` throws one balcap::Error listing all problems.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/data.h"
#include "data/record.h"

namespace balcap::data {

enum class OnBadRecord { kSkip, kFail };

struct LoadOptions {
  OnBadRecord on_bad_record = OnBadRecord::kSkip;
  std::int64_t max_records = 0;  // keep the first N good records (0 = all); later lines are not read
  bool decode_images = false;    // decode every image fully instead of checking its header only
};

// on_bad_record / max_records from the `data:` section.
LoadOptions load_options_from(const config::DataConfig& config);
OnBadRecord parse_on_bad_record(const std::string& value);  // "skip" | "fail", else balcap::Error

// One bad line: every problem found on it, in order.
struct LineProblem {
  std::int64_t line = 0;  // 1-based
  std::string id;         // empty when the id itself could not be read
  std::vector<std::string> problems;
};

struct Dataset {
  std::filesystem::path path;    // the JSONL file
  std::vector<Record> records;   // the good ones; Record::index = position here
  std::vector<LineProblem> bad;  // the bad lines, in file order
  std::int64_t lines_read = 0;   // non-blank lines examined
};

// Reads and validates `path`, never throwing for bad records (a missing/unreadable file, or no
// readable line at all, still throws balcap::Error). Use for reports (`balcap data check`).
Dataset read_dataset(const std::filesystem::path& path, const LoadOptions& options);

// read_dataset + the on_bad_record policy: kFail with any bad line -> balcap::Error listing
// them all; kSkip logs each bad line (warn) and the count. No good record at all -> balcap::Error.
Dataset load_dataset(const std::filesystem::path& path, const LoadOptions& options);
inline Dataset load_dataset(const std::filesystem::path& path, const config::DataConfig& config) {
  return load_dataset(path, load_options_from(config));
}

// "FILE:LINE: record 'ID': problem; problem" (one line per bad record).
std::string describe(const std::filesystem::path& path, const LineProblem& bad);
// The whole report: a summary line ("N records, K bad"), then up to `limit` bad lines
// (0 = all) and "... and M more".
std::string validation_report(const Dataset& dataset, std::size_t limit = 0);

}  // namespace balcap::data
