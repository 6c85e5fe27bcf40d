#pragma once
// Choosing the checkpoint a run resumes from (`--resume auto|none|PATH`, checkpoint.resume) and
// refusing one made with another config unless forced (`--resume-force`).
//
// API summary:
//   auto dir = resolve_resume(cfg.checkpoint.resume, cfg.train.run_dir);   // nullopt = fresh start
//   if (dir) { TrainerState s = load_for_resume(*dir, cfg, force); ... }    // hash checked here
//   state.config_hash = resume_config_hash(cfg);                           // what save() must store
//
// The hash compares the config with its run-control keys reset (they do not change what the run
// computes): train.run_dir, train.save_every, train.device, train.max_skipped_steps, checkpoint.*,
// logging.*, dist.timeout_s.
// Everything else (model, data, sampling, rewards, algo, optim, train.max_steps -- it shapes a
// cosine schedule --, seeds, batch sizes) must match, or be forced.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/trainer_state.h"
#include "config/config.h"

namespace balcap::checkpoint {

// "auto": the newest complete checkpoint under <run_dir>/checkpoints (nullopt when there is none;
// each incomplete or temporary directory passed over is logged with the reason);
// "none" or "": nullopt; otherwise a path: a complete step-<N>/ directory, or a run directory /
// checkpoints directory whose newest complete checkpoint is taken. A path that does not exist, is
// incomplete, or holds no complete checkpoint -> balcap::Error naming it (and why) with a HINT.
std::optional<std::filesystem::path> resolve_resume(const std::string& resume, const std::filesystem::path& run_dir);

// config_hash of `config` with the run-control keys reset (see above): store it in TrainerState.
std::string resume_config_hash(const config::Config& config);

// Keys (as config_diff) where the checkpoint's config.yaml differs from `current`, run-control
// keys excluded. An unreadable snapshot gives one entry describing the problem.
std::vector<std::string> resume_config_changes(const std::filesystem::path& checkpoint, const config::Config& current);

// Loads <checkpoint>/trainer_state.json. When its config_hash differs from resume_config_hash(current):
// `force` -> a warning listing the differing keys, else balcap::Error listing them with the HINT
// `--resume-force` (or `--resume none`).
TrainerState load_for_resume(const std::filesystem::path& checkpoint, const config::Config& current, bool force);

}  // namespace balcap::checkpoint
