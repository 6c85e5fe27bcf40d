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

}  // namespace

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

std::vector<CheckpointInfo> Checkpointer::list_complete() const {
  std::vector<CheckpointInfo> out;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(root_)) {
    const auto step = parse_step_dir_name(entry.path().filename().string());
    if (!step || !entry.is_directory()) continue;
    std::string why;
    if (is_complete(entry.path(), &why)) {
      out.push_back({*step, entry.path()});
    } else {
      spdlog::debug("checkpoint: ignoring {}: {}", entry.path().string(), why);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

std::optional<CheckpointInfo> Checkpointer::latest_complete() const {
  auto all = list_complete();
  if (all.empty()) return std::nullopt;
  return all.back();
}

fs::path Checkpointer::save(int64_t step, const std::function<void(const fs::path&)>& write) {
  BALCAP_CHECK(step >= 0, "checkpoint: step {} must be >= 0", step);
  fs::create_directories(root_);
  const auto name = fmt::format("step-{}", step);
  const auto tmp = root_ / fmt::format(".{}{}{}", name, kTmpInfix, ::getpid());
  const auto final_dir = root_ / name;
  remove_quietly(tmp);
  fs::create_directories(tmp);
  try {
    write(tmp);
    fault::hit("checkpoint.files_written");  // reliability tests: a kill with the files written, not marked
    fsync_tree(tmp);
  } catch (...) {
    remove_quietly(tmp);
    throw;
  }
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
    const bool stale_tmp = name.rfind(".step-", 0) == 0 && name.find(kTmpInfix) != std::string::npos;
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
