// The static decode step, replayed from a CUDA graph on CUDA (see decode_graph.h).
#include "sampling/decode_graph.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>

#ifdef BALCAP_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace balcap::sampling {

#ifdef BALCAP_WITH_CUDA

// What a graph was captured over: replaying it over other buffers or shapes would be wrong.
struct GraphKey {
  const void* keys = nullptr;    // layer 0's key storage (compaction re-creates every layer together)
  const void* values = nullptr;  // layer 0's value storage
  const void* index = nullptr;
  const void* mask = nullptr;
  const void* prefix = nullptr;  // the shared prompts' layer-0 keys (dropped prompts re-create them)
  const void* slot = nullptr;    // the rows' prefix slots (null: identity)
  int64_t rows = 0, key_len = 0, mask_stride = 0;
  bool operator==(const GraphKey&) const = default;
};

GraphKey key_of(const models::KvCache& cache, const at::Tensor& index, const at::Tensor& key_mask) {
  const models::SharedPrefix* prefix = cache.prefix();
  return {cache.keys(0).data_ptr(),
          cache.values(0).data_ptr(),
          index.data_ptr(),
          key_mask.data_ptr(),
          prefix != nullptr ? prefix->keys.front().data_ptr() : nullptr,
          prefix != nullptr && prefix->slot.defined() ? prefix->slot.data_ptr() : nullptr,
          key_mask.size(0),
          key_mask.size(1),
          key_mask.stride(0)};
}

struct StaticDecodeStep::Graph {
  at::cuda::CUDAGraph graph;
  GraphKey key;
  at::Tensor tokens, positions;  // static inputs [N] int64
  at::Tensor logits;             // static output [N, V]
};

namespace {

// Set by the first failed capture: the rest of the process decodes eagerly (one warning).
std::atomic<bool> capture_failed{false};

// Ends a capture that an exception interrupted (the stream must not stay in capture mode); the
// error it reports is the one already being handled.
void abandon_capture(at::cuda::CUDAGraph& graph) {
  try {
    graph.capture_end();
  } catch (const std::exception&) {
  }
  (void)cudaGetLastError();
}

// Warm-up (lazy workspaces, cuBLAS handles) and capture on a side stream, as torch.cuda.graph does;
// the current stream waits for both. The warm-up writes the same keys/values the replay will.
std::unique_ptr<StaticDecodeStep::Graph> capture_step(models::Policy& policy, const at::Tensor& tokens,
                                                      const at::Tensor& positions, models::KvCache& cache,
                                                      const at::Tensor& index, const at::Tensor& key_mask) {
  auto g = std::make_unique<StaticDecodeStep::Graph>();
  g->key = key_of(cache, index, key_mask);
  g->tokens = tokens.to(at::kLong).clone();
  g->positions = positions.to(at::kLong).clone();
  const auto current = at::cuda::getCurrentCUDAStream(tokens.device().index());
  const auto side = at::cuda::getStreamFromPool(false, current.device_index());
  at::cuda::CUDAEvent inputs_ready, captured;
  inputs_ready.record(current);
  inputs_ready.block(side);
  {
    const c10::cuda::CUDAStreamGuard on_side(side);
    policy.decode_static(g->tokens, g->positions, cache, index, key_mask);
    // Thread-local capture: other threads (reward scoring, data loading) may keep using CUDA.
    g->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
      g->logits = policy.decode_static(g->tokens, g->positions, cache, index, key_mask);
    } catch (const std::exception&) {
      abandon_capture(g->graph);
      throw;
    }
    g->graph.capture_end();
  }
  captured.record(side);
  captured.block(current);
  return g;
}

}  // namespace

#else
struct StaticDecodeStep::Graph {};
#endif

StaticDecodeStep::StaticDecodeStep(models::Policy& policy, bool capture)
    : policy_(policy), capture_(capture && policy.device().is_cuda()) {
#ifdef BALCAP_WITH_CUDA
  if (capture_failed.load()) capture_ = false;
#else
  capture_ = false;  // CPU build: nothing to capture with
#endif
}

StaticDecodeStep::~StaticDecodeStep() = default;

int64_t StaticDecodeStep::captures() const { return captures_; }

at::Tensor StaticDecodeStep::operator()(const at::Tensor& tokens, const at::Tensor& positions, models::KvCache& cache,
                                        const at::Tensor& index, const at::Tensor& key_mask) {
#ifdef BALCAP_WITH_CUDA
  if (capture_) {
    if (!graph_ || !(graph_->key == key_of(cache, index, key_mask))) {
      graph_.reset();  // frees the old graph's pool before the new capture
      try {
        graph_ = capture_step(policy_, tokens, positions, cache, index, key_mask);
        ++captures_;
      } catch (const std::exception& e) {
        if (!capture_failed.exchange(true)) {
          const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
          spdlog::warn("sampling: capturing the decode step in a CUDA graph failed; decoding eagerly instead "
                       "(set sampling.cuda_graphs: false to skip the attempt). Cause: {}",
                       c10_error != nullptr ? c10_error->what_without_backtrace() : e.what());
        }
        capture_ = false;
        return policy_.decode_static(tokens, positions, cache, index, key_mask);
      }
    }
    graph_->tokens.copy_(tokens);
    graph_->positions.copy_(positions);
    graph_->graph.replay();
    return graph_->logits;
  }
#endif
  return policy_.decode_static(tokens, positions, cache, index, key_mask);
}

}  // namespace balcap::sampling
