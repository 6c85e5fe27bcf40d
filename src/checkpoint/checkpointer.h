#pragma once
// The Checkpointer seam (docs/architecture.md §9, §12): atomic RUN_DIR/checkpoints/step-<N>/ directories, the
// COMPLETE marker, discovery of the newest complete one, keep-last-N pruning.
//
// API summary (what the trainer calls):
//   Checkpointer ckpt(run_dir, cfg.checkpoint.keep_last);
//   fs::path dir = ckpt.save(step, [&](const fs::path& tmp) {      // tmp: a temporary sibling dir
//     policy.save_pretrained(model_dir(tmp));                      // or lora.save_peft(adapter_dir(tmp), ...)
//     save_safetensors(optimizer_file(tmp, rank), optimizer.state_dict());
//     config::save_config(cfg, config_file(tmp));                  // needed for the resume diff
//     save_trainer_state(trainer_state_file(tmp), state);
//   });                                                            // rename, COMPLETE, prune
//   std::optional<CheckpointInfo> last = ckpt.latest_complete();   // never a partial directory
//
// Layout of step-<N>/:  model/ (HF layout) or adapter/ (PEFT), optim/rank-<R>.safetensors,
// trainer_state.json, config.yaml, COMPLETE (JSON: step + every file's relative path and size).
// Write order: everything into .step-<N>.tmp-<pid>/, rename to step-<N>/ (an older step-<N>/ is moved
// aside first), fsync of the directories, COMPLETE written last through a temp file + fsync + rename.
// A directory is "complete" only when COMPLETE parses, names its own step and every listed file
// exists with its recorded size: a crash at any point leaves either the previous state or a
// directory that is ignored (and later pruned). A save that fails (full disk, I/O error) removes
// what it wrote and throws; the caller decides whether the run stops (checkpoint.on_save_failure).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace balcap::checkpoint {

namespace fs = std::filesystem;

inline constexpr const char* kCompleteMarker = "COMPLETE";

fs::path model_dir(const fs::path& checkpoint);                     // <ckpt>/model
fs::path adapter_dir(const fs::path& checkpoint);                   // <ckpt>/adapter
fs::path optimizer_file(const fs::path& checkpoint, int64_t rank);  // <ckpt>/optim/rank-<R>.safetensors
fs::path trainer_state_file(const fs::path& checkpoint);            // <ckpt>/trainer_state.json
fs::path config_file(const fs::path& checkpoint);                   // <ckpt>/config.yaml

struct CheckpointInfo {
  int64_t step = 0;
  fs::path dir;
};

// A directory under checkpoints/ that is not a usable checkpoint, and why (for the resume log).
struct SkippedCheckpoint {
  fs::path dir;
  std::string why;
};

// What checkpoints/ holds: the complete checkpoints (ascending step) and everything else that looks
// like one: incomplete step-<N>/ directories and temporary directories of unfinished saves.
struct CheckpointScan {
  std::vector<CheckpointInfo> complete;
  std::vector<SkippedCheckpoint> skipped;
};

// "step-<N>" -> N; anything else (temp dirs, other files) -> nullopt.
std::optional<int64_t> parse_step_dir_name(const std::string& name);

// True when `dir` holds a valid COMPLETE marker whose files all exist with their recorded sizes;
// otherwise false with the reason in *why (when given).
bool is_complete(const fs::path& dir, std::string* why = nullptr);

class Checkpointer {
 public:
  // keep_last: complete checkpoints kept after each save (0 = all).
  Checkpointer(fs::path run_dir, int64_t keep_last);

  const fs::path& root() const { return root_; }  // <run_dir>/checkpoints
  fs::path step_dir(int64_t step) const;          // <root>/step-<step>

  // Complete checkpoints, ascending step, and the directories passed over with the reason.
  CheckpointScan scan() const;
  // scan().complete.
  std::vector<CheckpointInfo> list_complete() const;
  std::optional<CheckpointInfo> latest_complete() const;

  // Writes step-<step>/ as described above and prunes; returns its final path. When anything fails
  // (`write` throws, the disk is full, a rename or fsync fails) the temporary directory and an
  // unmarked step-<step>/ are removed, the other checkpoints are untouched, and balcap::Error names
  // the directory, the reason and the newest complete checkpoint left, with a HINT.
  fs::path save(int64_t step, const std::function<void(const fs::path& tmp_dir)>& write);

  // Removes complete checkpoints beyond keep_last (oldest first, never step `keep_step`),
  // incomplete step-<N>/ directories older than `keep_step`, stale temporary directories, and every
  // step-<N>/ with N > keep_step (a trajectory abandoned by resuming from an earlier checkpoint:
  // `--resume auto` must not pick it later).
  void prune(int64_t keep_step);

 private:
  fs::path write_and_mark(int64_t step, const std::function<void(const fs::path& tmp_dir)>& write);

  fs::path root_;
  int64_t keep_last_;
};

// Refuses a run directory this process cannot write in, before a run spends time loading a model:
// creates `run_dir` and its checkpoints/ and writes, syncs and removes a probe file in each.
// Failure (read-only file system, permissions, full disk) -> balcap::Error naming the directory
// and the reason, with a HINT.
void require_writable_run_dir(const fs::path& run_dir);

// fsync of a directory (so a rename/creation inside it survives a crash); errors -> balcap::Error.
void fsync_directory(const fs::path& dir);

}  // namespace balcap::checkpoint
