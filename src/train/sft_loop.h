#pragma once
// `balcap sft`: supervised captioning before RL, on one process (CPU or one GPU) with the RL
// loop's machinery (train_loop.h): the session's data order, AdamW, checkpoints and metrics.
#include "config/config.h"
#include "train/session.h"

namespace balcap::train {

// Supervised captioning (cross-entropy on reference captions) with the same machinery; `config` is
// the full config, its `sft:` section selects steps, lr, run_dir and which references.
int run_sft(const config::Config& config, const RunArgs& args);

// The config an SFT run actually trains with: train.* / optim.* taken from sft.* (run_dir,
// max_steps, save_every, batch_size, lr, warmup_steps). Also what its checkpoints hash.
config::Config sft_phase_config(const config::Config& config);

}  // namespace balcap::train
