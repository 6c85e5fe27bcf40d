#pragma once
// Where this process sits in a multi-process run, read from the variables torchrun (and Slurm scripts,
// and scripts/launch) export: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
// and TORCHELASTIC_USE_AGENT_STORE (torchrun's agent already serves the TCPStore: every rank connects
// as a client). No WORLD_SIZE in the environment = one process, as without a launcher.
#include <cstdint>
#include <optional>
#include <string>

namespace balcap::dist {

struct LaunchEnv {
  std::int64_t rank = 0, world_size = 1;
  std::int64_t local_rank = 0, local_world_size = 1;  // LOCAL_RANK picks the GPU
  std::string master_addr = "127.0.0.1";
  std::uint16_t master_port = 29500;
  bool agent_store = false;  // the store is served by torchrun's agent, not by rank 0
};

// The launch variables, or nullopt when WORLD_SIZE is unset. A variable that is malformed, out of
// range or missing while WORLD_SIZE is set -> balcap::Error naming it, its value and the fix.
std::optional<LaunchEnv> launch_env_from_environment();

}  // namespace balcap::dist
