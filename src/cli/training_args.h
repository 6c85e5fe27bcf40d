#pragma once
// Options shared by `balcap train` and `balcap sft`: the config (embedded demo config when none),
// --set overrides, resume choice and the run-control shortcuts (--run-dir, --max-steps,
// --save-every), which become --set overrides of `section` (train or sft) so they are validated
// like any key.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/demo_config.h"
#include "config/load.h"
#include "train/session.h"

namespace balcap::cli {

struct TrainingArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string resume;
  bool resume_force = false;
  std::string run_dir;
  std::optional<std::int64_t> max_steps, save_every;
};

inline void add_training_options(CLI::App& cmd, TrainingArgs& a) {
  cmd.add_option("--config", a.config_file, "Experiment config (YAML); default: the embedded configs/demo.yaml");
  cmd.add_option("--set", a.overrides, "Override a key: --set a.b=VALUE (VALUE is YAML; repeatable)");
  cmd.add_option("--resume", a.resume, "auto (newest complete checkpoint), none, or a checkpoint/run directory "
                                       "(default: checkpoint.resume)");
  cmd.add_flag("--resume-force", a.resume_force, "Resume a checkpoint made with a different config (warns)");
  cmd.add_option("--run-dir", a.run_dir, "Run directory (metrics.jsonl, checkpoints/)");
  cmd.add_option("--max-steps", a.max_steps, "Training steps");
  cmd.add_option("--save-every", a.save_every, "Checkpoint every N steps (0 = only at the end)");
}

// YAML single-quoted scalar (quotes doubled): any path survives the --set parser.
inline std::string yaml_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

inline config::Config load_training_config(const TrainingArgs& a, const std::string& section) {
  std::vector<std::string> overrides = a.overrides;
  if (!a.run_dir.empty()) overrides.push_back(section + ".run_dir=" + yaml_quoted(a.run_dir));
  if (a.max_steps) overrides.push_back(section + ".max_steps=" + std::to_string(*a.max_steps));
  if (a.save_every) overrides.push_back(section + ".save_every=" + std::to_string(*a.save_every));
  if (a.config_file.empty()) return config::demo_config(overrides);
  return config::load_config(a.config_file, overrides);
}

inline train::RunArgs run_args(const TrainingArgs& a) { return {a.resume, a.resume_force}; }

}  // namespace balcap::cli
