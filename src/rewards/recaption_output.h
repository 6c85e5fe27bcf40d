#pragma once
// Private to src/rewards: the files `balcap recaption` writes (rewards/recaption.h): OUT.jsonl, resumable, and
// OUT.jsonl.errors.jsonl, the failures of the current run.
//
// OUT is appended one batch at a time (one write + fsync). Opening an existing OUT resumes it: its
// complete lines are read (each must be a JSON record whose id is one of this input's records,
// none twice), a truncated last line (a kill mid-write) is cut off, and those ids count as done.
// A record retried in a later run is appended after records that follow it in the input; finish()
// then rewrites OUT in input order (atomically), so the final file is an uninterrupted run's.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace balcap::rewards {

class RecaptionOutput {
 public:
  // ordinal_of(id): the record's position in the input (its order in OUT), nullopt for an id that is
  // not a record of this input (shard). Errors (unreadable OUT, a line that is not such a record)
  // -> balcap::Error naming OUT and the line.
  using OrdinalOf = std::function<std::optional<std::int64_t>(const std::string&)>;
  RecaptionOutput(std::filesystem::path path, OrdinalOf ordinal_of);
  ~RecaptionOutput();
  RecaptionOutput(const RecaptionOutput&) = delete;
  RecaptionOutput& operator=(const RecaptionOutput&) = delete;

  bool done(const std::string& id) const { return done_.count(id) > 0; }
  std::int64_t resumed() const { return resumed_; }
  // Appends one line per (ordinal, id, JSON text without '\n') and fsyncs.
  struct Line {
    std::int64_t ordinal;
    std::string id, json;
  };
  void append(const std::vector<Line>& lines);
  // Rewrites OUT in input order when a record was appended out of order; closes it.
  void finish();

 private:
  void resume();
  void check_order(std::int64_t ordinal);

  std::filesystem::path path_;
  OrdinalOf ordinal_of_;
  int fd_ = -1;
  std::unordered_set<std::string> done_;
  std::int64_t resumed_ = 0;
  std::int64_t last_ordinal_ = -1;
  bool out_of_order_ = false;
};

// OUT.errors.jsonl: {"id", "line", "image", "reason"} per failed record, truncated when opened,
// flushed per record.
class RecaptionErrors {
 public:
  explicit RecaptionErrors(std::filesystem::path path);
  ~RecaptionErrors();
  RecaptionErrors(const RecaptionErrors&) = delete;
  RecaptionErrors& operator=(const RecaptionErrors&) = delete;

  void add(const std::string& id, std::int64_t line, const std::string& image, const std::string& reason);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace balcap::rewards
