#pragma once
// `balcap train`: the whole RL loop of docs/architecture.md §1 on one process (CPU or one GPU).
//
// RL step: next batch_size records (resumable order) -> images processed once -> G sampled captions
// per image (seeded by seed, step, rank, record) -> objectives -> length mask -> advantages ->
// ppo_epochs x mini_batches optimizer steps over micro-batches -> metrics row (+ caption samples
// every logging.samples_every steps) -> checkpoint every save_every steps and at the end.
// SIGTERM / SIGINT: the current micro-step finishes; a step with no optimizer update yet is
// dropped (it is redone on resume), then a checkpoint is saved and the run exits 0.
// Non-finite loss or gradient: that optimizer step is skipped, logged (step, tensor) and counted;
// train.max_skipped_steps steps in a row with a skip -> checkpoint and a balcap::Error.
// A periodic checkpoint that fails: checkpoint.on_save_failure (stop: balcap::Error; continue: logged).
#include "config/config.h"
#include "train/session.h"

namespace balcap::train {

// Returns the process exit code (0: finished, or stopped by a signal after saving).
int run_training(const config::Config& config, const RunArgs& args);

}  // namespace balcap::train
