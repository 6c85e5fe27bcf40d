// Host allocator settings; see src/core/allocator.h.
#include "core/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace balcap {

void tune_host_allocator() {
#if defined(__GLIBC__)
  constexpr int kOneGiB = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kOneGiB);  // also stops glibc's dynamic threshold adjustment
  mallopt(M_TRIM_THRESHOLD, kOneGiB);
  mallopt(M_TOP_PAD, 256 << 20);
#endif
}

}  // namespace balcap
