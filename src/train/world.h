#pragma once
// Private to src/train: the world a `balcap train` / `balcap sft` process runs in (docs/distributed.md).
// Without launch variables: one process, as before. With them (torchrun, Slurm, scripts/launch): this
// rank's device (train.device cuda/auto -> cuda:LOCAL_RANK), its log file RUN_DIR/rank-N.log (rank 0
// also logs to the console; other ranks print warnings and errors only), and a c10d communicator
// (dist.backend, dist.timeout_s).
#include <filesystem>
#include <memory>

#include "config/config.h"
#include "dist/communicator.h"

namespace balcap::train {

struct World {
  std::unique_ptr<dist::Communicator> comm;
  at::Device device = at::kCPU;
};

// `device`: train.device resolved for one process (resolve_device).
World join_world(const config::Config& config, at::Device device);

// Whether this rank writes the run's shared files (metrics, TensorBoard, checkpoints, config): rank 0.
inline bool writes_run_files(const dist::Communicator& comm) { return comm.rank() == 0; }

}  // namespace balcap::train
