// Peak host and device memory (src/train/peak_memory.h).
#include "train/peak_memory.h"

#include <sys/resource.h>

#ifdef BALCAP_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace balcap::train {

PeakMemory peak_memory(const c10::Device& device) {
  PeakMemory out;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) out.host_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
#ifdef BALCAP_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    const auto all = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    out.device_mib = static_cast<double>(stats.allocated_bytes[all].peak) / (1024.0 * 1024.0);
  }
#else
  (void)device;
#endif
  return out;
}

void reset_device_peak(const c10::Device& device) {
#ifdef BALCAP_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#else
  (void)device;
#endif
}

}  // namespace balcap::train
