#pragma once
// The Communicator seam (docs/architecture.md §8, docs/distributed.md): everything that depends on the
// rank goes through it, so the trainer, the advantage's batch statistics and the metrics are written
// once for one or many processes. Implementations: single_process_communicator() (rank 0 of 1, every
// collective the identity) and c10d_communicator() (dist/c10d_communicator.h: PyTorch's c10d, Gloo on
// CPU, NCCL on GPU). Every rank must make the same collective calls in the same order with the same
// sizes; a failed collective (a dead or hung rank) throws balcap::Error naming the rank and `what`.
#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace balcap::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::int64_t rank() const = 0;
  virtual std::int64_t world_size() const = 0;
  // In-place sum over ranks of a small host vector (counts, sums, sums of squares for batch stats
  // and metrics). Every rank must call it with the same size.
  virtual void all_reduce_sum(std::vector<double>& values) = 0;
  virtual void barrier() = 0;

  // In-place sum over ranks of a tensor (gradient buckets: same shape and dtype on every rank, on
  // the communicator's device). The default goes through the host vector in float64.
  virtual void all_reduce_sum(at::Tensor& tensor, std::string_view what);
  // all_reduce_sum started now and finished by the returned wait() (which throws on failure); the
  // tensor must stay alive and untouched until then. Default: synchronous, wait() does nothing.
  virtual std::function<void()> all_reduce_sum_async(at::Tensor& tensor, std::string_view what);
  // Root's `tensor` becomes the sum over ranks, started now and finished by the returned wait(); the
  // other ranks' tensors are unspecified afterwards (a gradient reduced to its owner, ZeRO-2). Same
  // calling rules as all_reduce_sum_async. Default: the all-reduce (every rank gets the sum).
  virtual std::function<void()> reduce_sum_async(at::Tensor& tensor, std::int64_t root, std::string_view what);
  // Every rank gets root's `tensor` (same shape and dtype everywhere). Default: a sum with zeros.
  virtual void broadcast(at::Tensor& tensor, std::int64_t root, std::string_view what);
};

// The world of one process: rank 0 of 1; collectives return their input.
std::unique_ptr<Communicator> single_process_communicator();

// Every rank's `mine`, concatenated in rank order (sizes may differ by rank), on every rank: two
// host all-reduces (the sizes, then the values at their offsets). For metrics, not for tensors.
std::vector<double> all_gather(Communicator& comm, const std::vector<double>& mine);

}  // namespace balcap::dist
