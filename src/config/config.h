#pragma once
// The experiment config (docs/architecture.md §10): YAML -> plain structs, one per section. Each struct's
// visit() is the single description of its keys (name, type, default, doc, constraints);
// parsing, validation, printing, diffing and docs/config.md are all driven by it.
//
//   Config cfg = load_config("configs/demo.yaml", {"sampling.temperature=0.7"});  // load.h
//   std::string resolved = to_yaml(cfg);   // yaml_writer.h: stable text; config_hash(cfg) hashes it
// What reads, checks and writes a Config: load.h, demo_config.h, validate.h, yaml_writer.h,
// save.h, docs.h (docs/config.md).
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
inline Config default_config() { return Config{}; }

}  // namespace balcap::config
