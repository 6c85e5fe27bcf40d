#pragma once
// Private to src/train: peak memory for the step metrics (`memory/*` in metrics.jsonl).
//   host:   the process's peak resident set since it started (getrusage ru_maxrss), MiB;
//   device: the CUDA caching allocator's peak allocated bytes on a CUDA device since the last
//           reset_device_peak (the trainer resets it at the start of each step), MiB; 0 on CPU or in
//           a build without CUDA.
#include <c10/core/Device.h>

namespace balcap::train {

struct PeakMemory {
  double host_mib = 0;
  double device_mib = 0;
};

PeakMemory peak_memory(const c10::Device& device);
void reset_device_peak(const c10::Device& device);

}  // namespace balcap::train
