#pragma once
// The experiment config (docs/architecture.md §10): YAML -> plain structs, one per section. Each struct's
// visit() is the single description of its keys (name, type, default, doc, constraints);
// parsing, validation, printing, diffing and docs/config.md are all driven by it.
//
//   Config cfg = load_config("configs/demo.yaml", {"sampling.temperature=0.7"});
//   std::string resolved = to_yaml(cfg);   // stable text; config_hash(cfg) hashes it
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/algo.h"
#include "config/data.h"
#include "config/model.h"
#include "config/optim.h"
#include "config/rewards.h"
#include "config/runtime.h"
#include "config/sampling.h"
#include "config/sft.h"
#include "config/train.h"

namespace balcap::config {

struct Config {
  ModelConfig model;
  DataConfig data;
  SamplingConfig sampling;
  RewardsConfig rewards;
  AlgoConfig algo;
  OptimConfig optim;
  TrainConfig train;
  SftConfig sft;
  DistConfig dist;
  CheckpointConfig checkpoint;
  LoggingConfig logging;

  template <class V>
  void visit(V& v) {
    v.field("model", model, "The policy checkpoint.");
    v.field("data", data, "The captioning dataset and instruction.");
    v.field("sampling", sampling, "Rollout sampling.");
    v.field("rewards", rewards, "Objectives, judges and the length mask.");
    v.field("algo", algo, "Advantages and the policy loss.");
    v.field("optim", optim, "Optimizer and learning-rate schedule.");
    v.field("train", train, "The training loop.");
    v.field("sft", sft, "Supervised captioning before RL (`balcap sft`).");
    v.field("dist", dist, "Multi-process training.");
    v.field("checkpoint", checkpoint, "Checkpoints and resume.");
    v.field("logging", logging, "Logs, metrics and progress.");
  }
  bool operator==(const Config&) const = default;
};

// The struct defaults. Not a runnable config by itself: model.path and data.train are empty.
Config default_config();

// Reads FILE, applies each override ("a.b.c=VALUE", VALUE read as YAML: `[1,2]`, `{r: 8}`),
// then validates. Every problem found (unknown key, wrong type, out-of-range value, bad
// enum) is reported at once in one balcap::Error naming key paths and file lines.
Config load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// The same from YAML text; `source` names it in messages (e.g. a checkpoint's config snapshot).
Config load_config_text(const std::string& yaml, const std::string& source,
                        const std::vector<std::string>& overrides = {});

// configs/demo.yaml as compiled into the binary, and that config loaded (with overrides):
// what `balcap train` runs when given no --config.
std::string_view embedded_demo_yaml();
Config demo_config(const std::vector<std::string>& overrides = {});

// Throws balcap::Error listing every violated constraint (no line numbers: no source).
void validate(const Config& config);

// The resolved config as block YAML: every key, in schema order, map entries sorted by
// name, numbers in shortest round-trip form. Same config -> same text (hashable).
std::string to_yaml(const Config& config);

// Writes to_yaml(config) to `file` (e.g. RUN_DIR/config.yaml) through a temporary file and
// a rename, so a reader never sees half a config. Creates parent directories.
void save_config(const Config& config, const std::filesystem::path& file);

// 16 hex digits (FNV-1a 64 of to_yaml): the config identity stored in checkpoints.
std::string config_hash(const Config& config);

// Key paths whose values differ, e.g. {"optim.lr", "rewards.objectives.coverage"} — for
// "this checkpoint was made with another config" warnings.
std::vector<std::string> config_diff(const Config& a, const Config& b);

// docs/config.md: intro plus one table per section (key, type, default, meaning).
std::string config_docs_markdown();

}  // namespace balcap::config

namespace balcap {
using config::Config;
}  // namespace balcap
