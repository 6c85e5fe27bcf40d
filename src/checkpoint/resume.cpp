#include "checkpoint/resume.h"

#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

#include "checkpoint/checkpointer.h"
#include "config/load.h"
#include "config/yaml_writer.h"
#include "core/error.h"
#include "core/log.h"

namespace balcap::checkpoint {

namespace fs = std::filesystem;

namespace {

// The keys that steer the run but not what it computes, reset to their defaults.
config::Config without_run_control(config::Config c) {
  const config::Config d = config::default_config();
  c.train.run_dir = d.train.run_dir;
  c.train.save_every = d.train.save_every;
  c.train.device = d.train.device;
  c.train.max_skipped_steps = d.train.max_skipped_steps;  // when to give up, not what is computed
  c.checkpoint = d.checkpoint;
  c.logging = d.logging;
  c.dist.timeout_s = d.dist.timeout_s;
  return c;
}

// The newest complete checkpoint of a run; every directory passed over is logged with the reason
// (a save cut short by a crash, a full disk or a kill), so that a resume from an older step than
// expected explains itself.
std::optional<fs::path> newest_in(const fs::path& run_dir) {
  const CheckpointScan scan = Checkpointer(run_dir, 0).scan();
  for (const SkippedCheckpoint& s : scan.skipped) {
    spdlog::warn("resume: skipping {}: {}; it is not a checkpoint (removed at the next save)", s.dir.string(), s.why);
  }
  if (scan.complete.empty()) return std::nullopt;
  return scan.complete.back().dir;
}

}  // namespace

std::optional<fs::path> resolve_resume(const std::string& resume, const fs::path& run_dir) {
  if (resume.empty() || resume == "none") return std::nullopt;
  if (resume == "auto") {
    auto dir = newest_in(run_dir);
    if (dir) spdlog::info("resume: newest complete checkpoint {}", dir->string());
    return dir;
  }
  const fs::path path(resume);
  std::error_code ec;
  BALCAP_CHECK(fs::is_directory(path, ec),
               "--resume {}: no such directory. HINT: pass a checkpoint directory (RUN_DIR/checkpoints/step-N), a "
               "run directory, `auto` or `none`",
               resume);
  if (fs::exists(path / kCompleteMarker, ec) || parse_step_dir_name(path.filename().string())) {
    std::string why;
    BALCAP_CHECK(is_complete(path, &why),
                 "--resume {}: the checkpoint is incomplete ({}). HINT: it was being written when the run stopped; "
                 "resume from an older one, or use --resume auto to take the newest complete one",
                 resume, why);
    return path;
  }
  // A run directory or its checkpoints/ directory.
  const fs::path run = path.filename() == "checkpoints" ? path.parent_path() : path;
  auto dir = newest_in(run);
  BALCAP_CHECK(dir.has_value(),
               "--resume {}: no complete checkpoint in {}. HINT: pass a step-N directory, or --resume none to start "
               "fresh",
               resume, (run / "checkpoints").string());
  return dir;
}

std::string resume_config_hash(const config::Config& config) { return config::config_hash(without_run_control(config)); }

std::vector<std::string> resume_config_changes(const fs::path& checkpoint, const config::Config& current) {
  const auto file = config_file(checkpoint);
  try {
    std::ifstream in(file);
    BALCAP_CHECK(in.good(), "{}: cannot read. HINT: the checkpoint has no config snapshot", file.string());
    std::stringstream text;
    text << in.rdbuf();
    const config::Config saved = config::load_config_text(text.str(), file.string());
    return config::config_diff(without_run_control(saved), without_run_control(current));
  } catch (const Error& e) {
    return {fmt::format("(the checkpoint's config could not be read: {})", e.what())};
  }
}

TrainerState load_for_resume(const fs::path& checkpoint, const config::Config& current, bool force) {
  TrainerState state = load_trainer_state(trainer_state_file(checkpoint));
  const auto hash = resume_config_hash(current);
  if (state.config_hash == hash) return state;
  const auto changes = resume_config_changes(checkpoint, current);
  const auto listed = changes.empty() ? std::string("(no key differs; the config schema changed)")
                                      : fmt::format("{}", fmt::join(changes, ", "));
  if (!force) {
    fail(
        "--resume {}: the checkpoint was made with another config (hash {} vs {}); differing keys: {}. HINT: "
        "resume with the original config, pass --resume-force to continue with the new values anyway, or "
        "--resume none to start fresh",
        checkpoint.string(), state.config_hash, hash, listed);
  }
  spdlog::warn("resume {}: config differs from the checkpoint's (forced); differing keys: {}", checkpoint.string(),
               listed);
  return state;
}

}  // namespace balcap::checkpoint
