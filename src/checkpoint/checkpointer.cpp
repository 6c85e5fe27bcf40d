#include "checkpoint/checkpointer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fault_points.h"
#include "core/log.h"
#include "io/atomic_file.h"

namespace balcap::checkpoint {

fs::path model_dir(const fs::path& c) { return c / "model"; }
fs::path adapter_dir(const fs::path& c) { return c / "adapter"; }
fs::path optimizer_file(const fs::path& c, int64_t rank) {
  return c / "optim" / fmt::format("rank-{}.safetensors", rank);
}
fs::path trainer_state_file(const fs::path& c) { return c / "trainer_state.json"; }
fs::path config_file(const fs::path& c) { return c / "config.yaml"; }

namespace {

constexpr const char* kTmpInfix = ".tmp-";

std::optional<int64_t> parse_number(const std::string& digits) {
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stoll(digits);
}

// Every regular file under `dir` (relative path -> size), COMPLETE excluded.
nlohmann::json file_manifest(const fs::path& dir) {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto rel = fs::relative(entry.path(), dir).generic_string();
    if (rel != kCompleteMarker) files[rel] = static_cast<uint64_t>(entry.file_size());
  }
  return files;
}

// fsync every file and directory under `dir` (the writers may not all have synced).
void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_directory()) {
      fsync_directory(entry.path());
    } else if (entry.is_regular_file()) {
      const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::fsync(fd) != 0) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        fail("{}: fsync failed: {}. HINT: check the file system and free space", entry.path().string(),
             std::strerror(err));
      }
      ::close(fd);
    }
  }
  fsync_directory(dir);
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) spdlog::warn("checkpoint: could not remove {}: {}", p.string(), ec.message());
}

bool is_temporary_dir_name(const std::string& name) {
  return name.rfind(".step-", 0) == 0 && name.find(kTmpInfix) != std::string::npos;
}

// An error's text without its own HINT: the save's error gives one HINT for the whole failure.
std::string without_hint(const std::string& what) {
  const auto hint = what.find(" HINT:");
  std::string out = hint == std::string::npos ? what : what.substr(0, hint);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out;
}

// Creates `dir` and writes, syncs and removes a probe file in it; the failure's text, or "" when fine.
std::string write_probe(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", dir.string(), ec.message());
  std::string name = (dir / ".balcap-write-check-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return fmt::format("cannot create a file in {}: {}", dir.string(), std::strerror(errno));
  const bool ok = ::write(fd, "x", 1) == 1 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  ::unlink(name.c_str());
  return ok ? "" : fmt::format("cannot write a file in {}: {}", dir.string(), std::strerror(err));
}

// After a failed save of `step`: its temporary files and directories (.step-<N>.*) and an unmarked
// step-<N>/ are not a checkpoint; removed, they neither hold the space a later save needs nor
// confuse a reader. A complete step-<N>/ (saved before) stays.
void remove_leftovers(const fs::path& root, int64_t step) {
  const std::string prefix = fmt::format(".step-{}.", step);
  std::error_code ec;
  for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind(prefix, 0) == 0) remove_quietly(it->path());
  }
  const fs::path final_dir = root / fmt::format("step-{}", step);
  if (fs::exists(final_dir, ec) && !is_complete(final_dir)) remove_quietly(final_dir);
}

}  // namespace

void require_writable_run_dir(const fs::path& run_dir) {
  for (const fs::path& dir : {run_dir, run_dir / "checkpoints"}) {
    const std::string problem = write_probe(dir);
    if (problem.empty()) continue;
    fail("run directory {}: {}. Nothing was started. HINT: the run directory must be writable (checkpoints, "
         "metrics.jsonl, logs): point --run-dir (train.run_dir, sft.run_dir) at a directory on a writable file "
         "system with free space, or remount this one read-write",
         run_dir.string(), problem);
  }
}

void fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    fail("{}: cannot open the directory to sync it: {}. HINT: check permissions", dir.string(), std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems refuse fsync on directories (EINVAL): nothing more can be done there.
  if (rc != 0 && err != EINVAL)
    fail("{}: fsync failed: {}. HINT: check the file system", dir.string(), std::strerror(err));
}

std::optional<int64_t> parse_step_dir_name(const std::string& name) {
  if (name.rfind("step-", 0) != 0) return std::nullopt;
  return parse_number(name.substr(5));
}

bool is_complete(const fs::path& dir, std::string* why) {
  const auto say = [&](std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return false;
  };
  const auto marker = dir / kCompleteMarker;
  std::error_code ec;
  if (!fs::is_regular_file(marker, ec)) return say("no COMPLETE marker (the save did not finish)");
  nlohmann::json j;
  try {
    std::ifstream in(marker);
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return say(fmt::format("COMPLETE does not parse: {}", e.what()));
  }
  if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer() || !j.contains("files") ||
      !j["files"].is_object()) {
    return say("COMPLETE lacks 'step' or 'files'");
  }
  const auto step = parse_step_dir_name(dir.filename().string());
  if (step && *step != j["step"].get<int64_t>()) {
    return say(fmt::format("COMPLETE names step {}, the directory step {}", j["step"].get<int64_t>(), *step));
  }
  for (const auto& [rel, size] : j["files"].items()) {
    const auto file = dir / rel;
    if (!fs::is_regular_file(file, ec)) return say(fmt::format("{} is missing", rel));
    if (!size.is_number_unsigned() || fs::file_size(file, ec) != size.get<uint64_t>()) {
      return say(fmt::format("{} has {} bytes, COMPLETE records {}", rel, fs::file_size(file, ec), size.dump()));
    }
  }
  return true;
}

Checkpointer::Checkpointer(fs::path run_dir, int64_t keep_last)
    : root_(std::move(run_dir) / "checkpoints"), keep_last_(keep_last) {
  BALCAP_CHECK(keep_last >= 0, "checkpoint.keep_last {} must be >= 0. HINT: 0 keeps every checkpoint", keep_last);
}

fs::path Checkpointer::step_dir(int64_t step) const { return root_ / fmt::format("step-{}", step); }

CheckpointScan Checkpointer::scan() const {
  CheckpointScan out;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(root_)) {
    const std::string name = entry.path().filename().string();
    if (is_temporary_dir_name(name)) {
      out.skipped.push_back({entry.path(), "a temporary directory of a save that did not finish"});
      continue;
    }
    const auto step = parse_step_dir_name(name);
    if (!step || !entry.is_directory()) continue;
    std::string why;
    if (is_complete(entry.path(), &why)) {
      out.complete.push_back({*step, entry.path()});
    } else {
      out.skipped.push_back({entry.path(), why});
    }
  }
  std::sort(out.complete.begin(), out.complete.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  std::sort(out.skipped.begin(), out.skipped.end(), [](const auto& a, const auto& b) { return a.dir < b.dir; });
  return out;
}

std::vector<CheckpointInfo> Checkpointer::list_complete() const { return scan().complete; }

std::optional<CheckpointInfo> Checkpointer::latest_complete() const {
  auto all = list_complete();
  if (all.empty()) return std::nullopt;
  return all.back();
}

fs::path Checkpointer::save(int64_t step, const std::function<void(const fs::path&)>& write) {
  BALCAP_CHECK(step >= 0, "checkpoint: step {} must be >= 0", step);
  try {
    return write_and_mark(step, write);
  } catch (const std::exception& e) {
    remove_leftovers(root_, step);
    const auto kept = latest_complete();
    fail("{}: the checkpoint of step {} could not be written: {}. What it wrote was removed; {}. HINT: make room "
         "on that file system (df -h {}) or need less of it (checkpoint.keep_last, checkpoint.save_optimizer), and "
         "check that it is still writable; `--resume auto` resumes from the newest complete checkpoint",
         step_dir(step).string(), step, without_hint(e.what()),
         kept ? fmt::format("the newest complete checkpoint, {}, is untouched", kept->dir.string())
              : std::string("there is no complete checkpoint yet"),
         root_.string());
  }
}

fs::path Checkpointer::write_and_mark(int64_t step, const std::function<void(const fs::path&)>& write) {
  fs::create_directories(root_);
  const auto name = fmt::format("step-{}", step);
  const auto tmp = root_ / fmt::format(".{}{}{}", name, kTmpInfix, ::getpid());
  const auto final_dir = root_ / name;
  remove_quietly(tmp);
  fs::create_directories(tmp);
  write(tmp);
  // reliability tests: kill = a crash with the files written, not marked; fail = a write that hit a full disk
  if (fault::hit("checkpoint.files_written") == fault::Action::fail) {
    fail("{}: writing failed: {} (injected by BALCAP_FAULTS checkpoint.files_written:fail)", tmp.string(),
         std::strerror(ENOSPC));
  }
  fsync_tree(tmp);
  // An older step-<N>/ (e.g. a run resumed from an earlier step) goes aside first: rename() does not
  // replace a non-empty directory. A crash in between leaves step-<N>/ without COMPLETE: ignored.
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    const auto old = root_ / fmt::format(".{}.old{}{}", name, kTmpInfix, ::getpid());
    remove_quietly(old);
    fs::rename(final_dir, old);
    remove_quietly(old);
  }
  fs::rename(tmp, final_dir);
  fsync_directory(root_);
  fault::hit("checkpoint.renamed");  // reliability tests: a kill after the rename, before COMPLETE
  const nlohmann::json marker = {{"step", step}, {"files", file_manifest(final_dir)}};
  io::write_file_atomically(final_dir / kCompleteMarker, marker.dump(1) + "\n");
  fsync_directory(final_dir);
  prune(step);
  return final_dir;
}

void Checkpointer::prune(int64_t keep_step) {
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return;
  // Later steps belong to a trajectory this run abandoned (it resumed from an earlier checkpoint):
  // left in place, `--resume auto` would pick them over the run's own newest checkpoint.
  for (const auto& entry : fs::directory_iterator(root_)) {
    const auto name = entry.path().filename().string();
    const auto step = parse_step_dir_name(name);
    const bool later = step && *step > keep_step;
    const bool partial = step && *step < keep_step && !is_complete(entry.path());
    const bool stale_tmp = is_temporary_dir_name(name);
    if (later || partial || stale_tmp) {
      spdlog::info("checkpoint: removing {} ({})", entry.path().string(),
                   later ? "after the step just saved: an abandoned trajectory" : "incomplete");
      remove_quietly(entry.path());
    }
  }
  if (keep_last_ == 0) return;
  auto complete = list_complete();  // ascending; keep_step is the newest
  const int64_t excess = static_cast<int64_t>(complete.size()) - keep_last_;
  for (int64_t i = 0; i < excess; ++i) {
    if (complete[i].step == keep_step) continue;
    spdlog::info("checkpoint: pruning {} (keep_last {})", complete[i].dir.string(), keep_last_);
    remove_quietly(complete[i].dir);
  }
}

}  // namespace balcap::checkpoint
