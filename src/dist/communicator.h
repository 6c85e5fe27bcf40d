#pragma once
// The Communicator seam (docs/architecture.md §8, §12): everything that depends on the rank goes through it, so
// the trainer, the advantage's batch statistics and the metrics are written once for one or many
// processes. Now: one process (every collective is the identity). Later: c10d Gloo/NCCL.
#include <cstdint>
#include <memory>
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
};

// The world of one process: rank 0 of 1; collectives return their input.
std::unique_ptr<Communicator> single_process_communicator();

}  // namespace balcap::dist
