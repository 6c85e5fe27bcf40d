#pragma once
// Kineto (the PyTorch profiler, C++ side) around one call of a benchmark: a chrome trace to a file
// (open in chrome://tracing or Perfetto) and, on stdout, the events that took the most time,
// aggregated by name: device kernels when the device is CUDA (CUDA-graph replays included), else
// the CPU ops. One GPU session then tells where a step's time goes.
#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace balcap::bench {

// Runs fn() under the profiler; writes the trace to trace_path (when not empty) and prints the
// `top` heaviest event names: "profile: share=..% total_ms=.. calls=.. name=..".
inline void profile_call(const std::function<void()>& fn, bool cuda, const std::string& trace_path, size_t top = 25) {
  namespace prof = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  std::set<ActivityType> activities{ActivityType::CPU};
  if (cuda) activities.insert(ActivityType::CUDA);
  prof::prepareProfiler(config, activities);
  prof::enableProfiler(config, activities);
  fn();
  const auto result = prof::disableProfiler();
  if (!trace_path.empty()) result->save(trace_path);
  // Device kernels on CUDA; on CPU the aten ops (nested ops double count: read them as inclusive).
  std::map<std::string, std::pair<int64_t, uint64_t>> by_name;  // name -> (calls, ns)
  uint64_t total = 0;
  for (const auto& e : result->events()) {
    const bool device_event = e.deviceType() == c10::DeviceType::CUDA;
    if (device_event != cuda) continue;
    auto& [calls, ns] = by_name[e.name()];
    calls += 1;
    ns += e.durationNs();
    total += e.durationNs();
  }
  std::vector<std::pair<std::string, std::pair<int64_t, uint64_t>>> rows(by_name.begin(), by_name.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::printf("profile: %s events, %.3f ms in all%s\n", cuda ? "device kernel" : "CPU op", total / 1e6,
              trace_path.empty() ? "" : (", trace " + trace_path).c_str());
  for (size_t i = 0; i < std::min(top, rows.size()); ++i) {
    const auto& [name, stats] = rows[i];
    std::printf("profile: share=%5.1f%% total_ms=%9.3f calls=%7lld name=%.120s\n",
                total > 0 ? 100.0 * stats.second / total : 0.0, stats.second / 1e6,
                static_cast<long long>(stats.first), name.c_str());
  }
}

}  // namespace balcap::bench
