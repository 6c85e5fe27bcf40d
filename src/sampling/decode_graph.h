#pragma once
// Private to src/sampling: The sampler's static-shape decode step (sampling.cuda_graphs): Policy::decode_static over the
// sampler's persistent buffers (KV cache, slot index, key mask), replayed from a CUDA graph on CUDA.
//
// A graph records device addresses and shapes, so it is valid for one set of buffers and one
// (rows N, attended keys K): it is captured on the first step that needs it (after one eager warm-up
// step on a side stream) and captured again when N (compaction re-creates the buffers) or K (the
// sampler's key-length bucket) changes. Within one sample() call N only shrinks and K only grows, so
// only the current graph is kept. tokens/positions are copied into the graph's static inputs; the
// logits come back in its static output. If a capture fails, one warning is logged and every later
// step of the process runs eagerly (same static shapes). Without CUDA (CPU build or CPU device) every step is decode_static, eager.
#include <ATen/ATen.h>

#include <memory>

#include "models/kv_cache.h"
#include "models/policy.h"

namespace balcap::sampling {

class StaticDecodeStep {
 public:
  // capture: use CUDA graphs (only takes effect when built with CUDA and the policy is on a GPU).
  StaticDecodeStep(models::Policy& policy, bool capture);
  ~StaticDecodeStep();
  StaticDecodeStep(const StaticDecodeStep&) = delete;
  StaticDecodeStep& operator=(const StaticDecodeStep&) = delete;

  // One step, arguments as Policy::decode_static: tokens [N], positions [N] int64 (any tensors);
  // cache, index [1] and key_mask [N, K] (a view of the persistent [N, S_max] mask) must be the
  // same buffers from step to step (a change of address re-captures). -> logits [N, V] in the
  // weights' dtype; when replayed, the graph's output buffer, valid until the next step.
  at::Tensor operator()(const at::Tensor& tokens, const at::Tensor& positions, models::KvCache& cache, const at::Tensor& index,
                        const at::Tensor& key_mask);

  // How many graphs were captured so far (0 when eager): for tests and logs.
  int64_t captures() const;

  struct Graph;  // opaque: a captured step (decode_graph.cpp; empty without CUDA)

 private:
  models::Policy& policy_;
  bool capture_ = false;
  std::unique_ptr<Graph> graph_;
  int64_t captures_ = 0;
};

}  // namespace balcap::sampling
