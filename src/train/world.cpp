// join_world (see world.h).
#include "train/world.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <torch/cuda.h>

#include "core/error.h"
#include "core/log.h"
#include "dist/c10d_communicator.h"
#include "dist/launch_env.h"

namespace balcap::train {
namespace {

// RUN_DIR/rank-N.log for every message of this rank; the console keeps rank 0's messages and the
// other ranks' warnings and errors, each line tagged with its rank.
void log_to_rank_file(const std::filesystem::path& run_dir, std::int64_t rank) {
  std::filesystem::create_directories(run_dir);
  const auto file = run_dir / fmt::format("rank-{}.log", rank);
  auto logger = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), /*truncate=*/false);
  sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %l: %v");
  sink->set_level(spdlog::level::trace);
  for (auto& console : logger->sinks()) {
    console->set_pattern(fmt::format("[balcap rank {}] %^%l%$: %v", rank));
    if (rank != 0) console->set_level(spdlog::level::warn);
  }
  logger->sinks().push_back(sink);
  logger->flush_on(spdlog::level::info);
}

}  // namespace

World join_world(const config::Config& config, at::Device device) {
  World w{dist::single_process_communicator(), device};
  const std::optional<dist::LaunchEnv> env = dist::launch_env_from_environment();
  if (!env) return w;
  if (device.is_cuda()) {
    BALCAP_CHECK(env->local_rank < static_cast<std::int64_t>(torch::cuda::device_count()) || static_cast<std::int64_t>(torch::cuda::device_count()) == 0,
                 "LOCAL_RANK={} but this machine has {} GPUs\nHINT: start at most one rank per GPU (--nproc-per-node)",
                 env->local_rank, static_cast<std::int64_t>(torch::cuda::device_count()));
    w.device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(env->local_rank));
  }
  log_to_rank_file(config.train.run_dir, env->rank);
  dist::C10dOptions options;
  options.backend = config.dist.backend;
  options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(config.dist.timeout_s * 1000.0));
  w.comm = dist::c10d_communicator(*env, options, w.device);
  return w;
}

}  // namespace balcap::train
