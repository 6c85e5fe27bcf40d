#pragma once
// Private to src/dist: the c10d backends behind c10d_communicator: Gloo (c10d_communicator.cpp, with
// Gloo's headers from third_party/gloo) and NCCL (c10d_nccl.cpp, CUDA builds only).
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

namespace balcap::dist::detail {

// ProcessGroupNCCL over `store`; balcap::Error in a build without NCCL.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout);

}  // namespace balcap::dist::detail
