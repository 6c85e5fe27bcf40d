#pragma once
// `sft:` — supervised captioning before RL (`balcap sft`): cross-entropy on reference captions,
// with the data, checkpoint and metrics machinery of `balcap train`. Model, data, train.dtype /
// device / micro_batch / freezing / LoRA / seed and optim (except lr and warmup) are shared with RL.
#include <cstdint>
#include <string>

#include "config/spec.h"

namespace balcap::config {

struct SftConfig {
  std::string run_dir;  // empty = <train.run_dir>/sft
  std::int64_t max_steps = 200;
  std::int64_t save_every = 100;
  std::int64_t batch_size = 8;
  double lr = 1e-5;
  std::int64_t warmup_steps = 0;
  std::string references = "all";

  template <class V>
  void visit(V& v) {
    v.field("run_dir", run_dir,
            "SFT run directory (metrics.jsonl, checkpoints/, and model/: the final weights in HF layout, "
            "what model.path of the RL phase points at); empty = <train.run_dir>/sft.");
    v.field("max_steps", max_steps, "SFT optimizer steps.", Spec().at_least(1));
    v.field("save_every", save_every, "Checkpoint every N steps (and at the end); 0 = only at the end.",
            Spec().at_least(0));
    v.field("batch_size", batch_size, "Records per step over all ranks (micro-batched by train.micro_batch).",
            Spec().at_least(1));
    v.field("lr", lr, "Peak learning rate of SFT (optim.lr is the RL one); schedule and AdamW settings from optim.",
            Spec().above(0).at_most(1));
    v.field("warmup_steps", warmup_steps, "Linear warmup steps of SFT.", Spec().at_least(0));
    v.field("references", references,
            "Which reference captions are targets: `all` (every reference of a record is one sequence), "
            "`first`, or `random` (one per record and step, seeded by train.seed, the step and the record).",
            Spec().one_of({"all", "first", "random"}));
  }
  bool operator==(const SftConfig&) const = default;
};

}  // namespace balcap::config
