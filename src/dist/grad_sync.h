#pragma once
// Data-parallel gradients: after a rank's backward passes of one mini-batch, every trainable parameter's
// .grad becomes the sum over ranks. The trainer weights each rank's loss by the global token/caption
// counts (train/update_phase.cpp), so the sum is the gradient of the global loss and a run on W ranks
// takes the same step as one process holding the whole batch.
//
// Flat buckets of at most `bucket_bytes` (PyTorch DDP's 25 MiB default; dist.bucket_mb), filled in
// parameter order and cut at a dtype or device change, one collective each. A parameter with a grad on
// some ranks but not on this one (no rows here) takes part as zeros; one without a grad on any rank
// stays without (as in one process). One process: nothing happens.
//
// `owners` (the sharded optimizer's, param_shards.h; empty = none): with owners the gradients are
// reduce-scattered at parameter granularity, ZeRO-2 style: buckets are also cut where the owner changes
// and each is reduced to its owner only (one c10d reduce: NCCL's native reduce on GPU; on Gloo a
// reduce, which moves the same bytes as the reduce-scatter Gloo lacks). Afterwards only the owner keeps
// the parameter's .grad (the sum); every other rank's is released (undefined), so the gradient memory
// per rank is about 1/world. The clipping norm is then a global sum of the owners' squares
// (AdamW::clip_grad_norm with a communicator).
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

GradSyncStats sync_gradients(const std::vector<at::Tensor>& params, Communicator& comm, std::int64_t bucket_bytes,
                             const std::vector<std::int64_t>& owners = {});

// The same sum, overlapped with the last backward pass of a mini-batch (dist.overlap_grad_sync).
// Buckets are cut in reverse parameter order (gradients become final roughly from the output back);
// a hook on each parameter copies its final gradient (what earlier micro-batches accumulated + this
// pass's) into its bucket, and a bucket whose gradients are all in is all-reduced asynchronously while
// the backward pass goes on. Buckets start in index order on every rank, so every rank makes the same
// collective calls whatever order its autograd produces gradients in. finish() starts the buckets not
// yet started (gradients that never came: what .grad holds, or zeros), waits for all and writes the
// sums into .grad. A parameter without a gradient here takes part as zeros; one without a gradient on
// any rank keeps an undefined .grad (one more small all-reduce tells). With `owners`, each bucket is
// reduced to its owner and finish() leaves .grad only on the owners (as sync_gradients).
//
//   OverlappedGradSync sync(params, comm, bucket_bytes, owners);   // once: registers the hooks
//   ... micro-batches' backward ...; sync.arm(); last_loss.backward(); sync.finish();
class OverlappedGradSync {
 public:
  OverlappedGradSync(std::vector<at::Tensor> params, Communicator& comm, std::int64_t bucket_bytes,
                     std::vector<std::int64_t> owners = {});
  ~OverlappedGradSync();
  OverlappedGradSync(const OverlappedGradSync&) = delete;
  OverlappedGradSync& operator=(const OverlappedGradSync&) = delete;

  void arm();
  GradSyncStats finish();

 private:
  struct Bucket {
    std::vector<std::size_t> members;  // parameter indices
    std::vector<std::int64_t> offsets;  // of each member in `flat`
    std::int64_t owner = -1;            // the rank it is reduced to (-1: all-reduced)
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
  std::vector<std::int64_t> owners_;  // [params] or empty
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;  // [params]
  std::vector<bool> arrived_;           // [params], this pass
  std::vector<unsigned> hooks_;
  std::size_t next_start_ = 0;
  bool armed_ = false;
  std::mutex mutex_;  // hooks may run on autograd's device threads
};

}  // namespace balcap::dist
