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
#include <functional>
#include <mutex>
#include <vector>

#include "dist/communicator.h"

namespace balcap::dist {

struct GradSyncStats {
  std::int64_t buckets = 0;
  std::int64_t bytes = 0;  // gradient bytes all-reduced by this rank
};

GradSyncStats all_reduce_gradients(const std::vector<at::Tensor>& params, Communicator& comm, std::int64_t bucket_bytes);

// The same sum, overlapped with the last backward pass of a mini-batch (dist.overlap_grad_sync).
// Buckets are cut in reverse parameter order (gradients become final roughly from the output back);
// a hook on each parameter copies its final gradient (what earlier micro-batches accumulated + this
// pass's) into its bucket, and a bucket whose gradients are all in is all-reduced asynchronously while
// the backward pass goes on. Buckets start in index order on every rank, so every rank makes the same
// collective calls whatever order its autograd produces gradients in. finish() starts the buckets not
// yet started (gradients that never came: what .grad holds, or zeros), waits for all and writes the
// sums into .grad. A parameter without a gradient here takes part as zeros; one without a gradient on
// any rank keeps an undefined .grad (one more small all-reduce tells).
//
//   OverlappedGradSync sync(params, comm, bucket_bytes);   // once: registers the hooks
//   ... micro-batches' backward ...; sync.arm(); last_loss.backward(); sync.finish();
class OverlappedGradSync {
 public:
  OverlappedGradSync(std::vector<at::Tensor> params, Communicator& comm, std::int64_t bucket_bytes);
  ~OverlappedGradSync();
  OverlappedGradSync(const OverlappedGradSync&) = delete;
  OverlappedGradSync& operator=(const OverlappedGradSync&) = delete;

  void arm();
  GradSyncStats finish();

 private:
  struct Bucket {
    std::vector<std::size_t> members;  // parameter indices
    std::vector<std::int64_t> offsets;  // of each member in `flat`
    at::Tensor flat;
    std::size_t ready = 0;
    bool started = false;
    std::function<void()> wait;
  };
  void on_gradient(std::size_t param, const at::Tensor& grad);
  void start_ready_buckets();  // in index order, under mutex_
  void fill_missing(Bucket& b);

  std::vector<at::Tensor> params_;
  Communicator& comm_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;  // [params]
  std::vector<bool> arrived_;           // [params], this pass
  std::vector<unsigned> hooks_;
  std::size_t next_start_ = 0;
  bool armed_ = false;
  std::mutex mutex_;  // hooks may run on autograd's device threads
};

}  // namespace balcap::dist
