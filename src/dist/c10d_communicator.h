#pragma once
// The multi-process Communicator on PyTorch's own distributed engine, c10d, as the torch wheel ships it:
// a TCPStore rendezvous (rank 0 serves it, or torchrun's agent does), then ProcessGroupGloo (CPU
// tensors) or ProcessGroupNCCL (CUDA tensors). Collectives wait at most `timeout`; a failure (a peer
// that died: "Connection closed by peer" within milliseconds; a hung peer: after the timeout) throws
// balcap::Error naming this rank, the collective and what to do. After a failure the group is not
// usable any more: the run stops (it is resumed from its last complete checkpoint).
#include <chrono>
#include <memory>
#include <string>

#include "dist/communicator.h"
#include "dist/launch_env.h"

namespace balcap::dist {

struct C10dOptions {
  std::string backend = "auto";  // auto: nccl for a CUDA device, gloo for CPU
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

// Joins the process group of `env` (every rank of env.world_size must call it) for tensors on
// `device`. Unreachable store, a rank that never starts (after `timeout`), nccl on a CPU device or
// in a build without CUDA -> balcap::Error.
std::unique_ptr<Communicator> c10d_communicator(const LaunchEnv& env, const C10dOptions& options, const at::Device& device);

}  // namespace balcap::dist
