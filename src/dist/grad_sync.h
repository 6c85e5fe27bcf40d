#pragma once
// Data-parallel gradients: after a rank's backward passes of one mini-batch, every trainable parameter's
// .grad becomes the sum over ranks. The trainer weights each rank's loss by the global token/caption
// counts (train/update_phase.cpp), so the sum is the gradient of the global loss and a run on W ranks
// takes the same step as one process holding the whole batch.
//
// Flat buckets of at most `bucket_bytes` (PyTorch DDP's 25 MiB default; dist.bucket_mb), filled in
// parameter order and cut at a dtype or device change, one all-reduce each. A parameter with a grad on
// some ranks but not on this one (no rows here) takes part as zeros; one without a grad on any rank
// stays without (as in one process). One process: nothing happens.
#include <cstdint>
#include <vector>

#include "dist/communicator.h"

namespace balcap::dist {

struct GradSyncStats {
  std::int64_t buckets = 0;
  std::int64_t bytes = 0;  // gradient bytes all-reduced by this rank
};

GradSyncStats all_reduce_gradients(const std::vector<at::Tensor>& params, Communicator& comm, std::int64_t bucket_bytes);

}  // namespace balcap::dist
