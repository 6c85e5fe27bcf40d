#pragma once
// `dist:`, `checkpoint:` and `logging:` — how a run talks to other ranks, persists itself
// and reports (docs/architecture.md §8, §9, §11).
#include <cstdint>
#include <string>

#include "config/spec.h"

namespace balcap::config {

struct DistConfig {
  std::string backend = "auto";
  double timeout_s = 1800.0;
  bool sharded_optimizer = false;
  double bucket_mb = 25.0;
  bool overlap_grad_sync = true;

  template <class V>
  void visit(V& v) {
    v.field("backend", backend, "c10d backend; `auto` = nccl on GPU, gloo on CPU.",
            Spec().one_of({"auto", "nccl", "gloo"}));
    v.field("timeout_s", timeout_s,
            "A collective (or the rendezvous) waiting longer than this fails the run (dead or hung rank).",
            Spec().above(0));
    v.field("sharded_optimizer", sharded_optimizer,
            "ZeRO-1/2 style: each rank keeps the AdamW state (moments, fp32 master) of ~1/world of the parameters "
            "(whole tensors), gets their gradients reduced to it alone, and broadcasts their new values.");
    v.field("bucket_mb", bucket_mb, "Gradient all-reduce bucket size, MiB (PyTorch DDP's default is 25).",
            Spec().above(0).at_most(4096));
    v.field("overlap_grad_sync", overlap_grad_sync,
            "All-reduce each gradient bucket during the last backward pass of a mini-batch, as soon as its "
            "gradients are final (false: all buckets after the backward pass).");
  }
  std::int64_t bucket_bytes() const { return static_cast<std::int64_t>(bucket_mb * 1024 * 1024); }
  bool operator==(const DistConfig&) const = default;
};

struct CheckpointConfig {
  std::int64_t keep_last = 3;
  std::string resume = "auto";
  bool save_optimizer = true;
  std::string on_save_failure = "stop";

  template <class V>
  void visit(V& v) {
    v.field("keep_last", keep_last, "Complete checkpoints kept (older ones pruned); 0 = keep all.", Spec().at_least(0));
    v.field("resume", resume,
            "`auto`: the newest complete checkpoint in run_dir (none = fresh start); `none`: fresh start; "
            "otherwise a checkpoint directory path.",
            Spec().required());
    v.field("save_optimizer", save_optimizer, "Save optimizer state (needed for exact resume).");
    v.field("on_save_failure", on_save_failure,
            "A periodic checkpoint that cannot be written (full disk, I/O error; what it wrote is removed, older "
            "checkpoints are untouched): `stop` ends the run with an error naming the directory and the reason; "
            "`continue` logs that error, trains on and tries again at the next save_every step. The save at the "
            "end, on SIGTERM or at train.max_skipped_steps must succeed either way. `continue` is balcap's "
            "addition (in TRL and verl a failed save ends the run).",
            Spec().one_of({"stop", "continue"}));
  }
  bool operator==(const CheckpointConfig&) const = default;
};

struct LoggingConfig {
  std::string level = "info";
  bool tensorboard = true;
  std::string progress = "auto";
  std::int64_t samples_every = 10;
  std::int64_t samples_count = 4;
  double peak_tflops = 0;

  template <class V>
  void visit(V& v) {
    v.field("level", level, "Console/file log level.", Spec().one_of({"trace", "debug", "info", "warn", "error"}));
    v.field("tensorboard", tensorboard, "Write TensorBoard scalars to run_dir/tensorboard/.");
    v.field("progress", progress, "Progress bar: `auto` (on a terminal), `always`, `never`.",
            Spec().one_of({"auto", "always", "never"}));
    v.field("samples_every", samples_every, "Log sample captions with their scores every N steps; 0 = never.",
            Spec().at_least(0));
    v.field("samples_count", samples_count, "Captions logged each time.", Spec().at_least(0));
    v.field("peak_tflops", peak_tflops,
            "The device's dense peak TFLOP/s for `perf/mfu` (CUDA only); 0 = from balcap's table of GPUs "
            "(H100, H200, A100, L40S, B200); an unknown GPU with 0 logs no MFU.",
            Spec().at_least(0));
  }
  bool operator==(const LoggingConfig&) const = default;
};

}  // namespace balcap::config
