// ProcessGroupNCCL for c10d_communicator (CUDA builds; the wheel links libnccl.so.2).
#include "dist/c10d_backend.h"

#include "core/error.h"

#if defined(BALCAP_WITH_CUDA) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace balcap::dist::detail {

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout) {
#if defined(BALCAP_WITH_CUDA) && defined(USE_C10D_NCCL)
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#else
  fail("dist.backend nccl: this balcap was built without CUDA/NCCL (rank {} of {})\nHINT: use dist.backend gloo "
       "(CPU), or rebuild on a machine with the CUDA toolkit (BALCAP_CUDA=ON)", rank, size);
#endif
}

}  // namespace balcap::dist::detail
