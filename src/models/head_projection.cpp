// The head's logits through XNNPACK's prepacked GEMM on the CPU (see head_projection.h).
#include "models/head_projection.h"

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/log.h"

namespace balcap::models {
namespace {

// LibTorch's XNNPACK linear: linear_clamp_prepack(W, B?, min?, max?) -> context; linear_clamp_run(x, context).
struct XnnpackOps {
  c10::OperatorHandle prepack, run;
};

const std::optional<XnnpackOps>& xnnpack_ops() {
  static const std::optional<XnnpackOps> ops = []() -> std::optional<XnnpackOps> {
    const char* env = std::getenv("BALCAP_HEAD_XNNPACK");
    if (env != nullptr && std::strcmp(env, "0") == 0) return std::nullopt;
    auto prepack = c10::Dispatcher::singleton().findSchema({"prepacked::linear_clamp_prepack", ""});
    auto run = c10::Dispatcher::singleton().findSchema({"prepacked::linear_clamp_run", ""});
    if (!prepack || !run) return std::nullopt;
    // XNNPACK runs on LibTorch's pthreadpool, which starts with one thread per core whatever
    // OMP_NUM_THREADS says; at::set_num_threads sizes it like the OpenMP pool (OpenMP and MKL keep theirs).
    at::set_num_threads(at::get_num_threads());
    return XnnpackOps{*prepack, *run};
  }();
  return ops;
}

// One packed weight: valid while the tensor lives (the weak reference keeps its address from being
// reused) with the same storage and version.
// A packing and the lock its runs take: an XNNPACK operator is set up and run in place, so two
// threads (a sampler and an overlapped local judge on the same weights) must not run one at once.
struct Packing {
  c10::IValue context;
  std::shared_ptr<std::mutex> run_mu;
};

struct Packed {
  c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> impl;
  const void* data = nullptr;
  std::int64_t version = -1;
  Packing packing;

  bool holds(const at::Tensor& w) const {
    if (impl.expired()) return false;
    return impl._unsafe_get_target() == w.unsafeGetTensorImpl() && data == w.data_ptr() && version == w._version();
  }
};

// A few weights at once (the policy's head, a judge's); the oldest goes first.
constexpr std::size_t kCacheEntries = 4;

class PackCache {
 public:
  // The packing held for `w`, if any and not stale.
  std::optional<Packing> find(const at::Tensor& w) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : entries_) {
      if (p.holds(w)) return p.packing;
    }
    return std::nullopt;
  }

  // The packing for `w`, made now if it is not held (or is stale). Throws what XNNPACK throws.
  Packing packing(const at::Tensor& w, const XnnpackOps& ops) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : entries_) {
      if (p.holds(w)) return p.packing;
    }
    std::erase_if(entries_, [&](const Packed& p) {
      return p.impl.expired() || p.impl._unsafe_get_target() == w.unsafeGetTensorImpl();
    });
    if (entries_.size() >= kCacheEntries) entries_.erase(entries_.begin());
    // XNNPACK refuses a weight that requires grad; the detached alias shares storage and version.
    torch::jit::Stack stack{w.detach(), c10::IValue(), c10::IValue(), c10::IValue()};
    ops.prepack.callBoxed(&stack);
    spdlog::debug("head_logits: packed the [{}, {}] head (version {}) for XNNPACK", w.size(0), w.size(1), w._version());
    entries_.push_back({c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(w.getIntrusivePtr()),
                        w.data_ptr(), w._version(), Packing{stack.at(0), std::make_shared<std::mutex>()}});
    return entries_.back().packing;
  }

 private:
  std::mutex mu_;
  std::vector<Packed> entries_;
};

PackCache& pack_cache() {
  static PackCache cache;
  return cache;
}

// XNNPACK failed once (an unsupported CPU, say): said once, then at::linear for the process.
std::once_flag refused_once;
std::atomic<bool> refused{false};

}  // namespace

bool head_logits_packed(const at::Tensor& weight) {
  return !refused.load() && weight.device().is_cpu() && weight.scalar_type() == at::kFloat && weight.dim() == 2 &&
         weight.is_contiguous() && xnnpack_ops().has_value();
}

at::Tensor head_logits(const at::Tensor& hidden, const at::Tensor& weight, HeadPacking packing) {
  at::NoGradGuard no_grad;
  if (!head_logits_packed(weight) || hidden.scalar_type() != at::kFloat || !hidden.device().is_cpu()) {
    return at::linear(hidden, weight);
  }
  try {
    std::optional<Packing> packed = pack_cache().find(weight);
    if (!packed && packing == HeadPacking::reuse) return at::linear(hidden, weight);
    if (!packed) packed = pack_cache().packing(weight, *xnnpack_ops());
    torch::jit::Stack stack{hidden.contiguous(), packed->context};
    std::lock_guard<std::mutex> lock(*packed->run_mu);
    xnnpack_ops()->run.callBoxed(&stack);
    return stack.at(0).toTensor();
  } catch (const std::exception& e) {
    std::call_once(refused_once, [&] {
      refused.store(true);
      spdlog::warn("head_logits: XNNPACK's packed GEMM failed ({}); the output head uses at::linear from now on", e.what());
    });
    return at::linear(hidden, weight);
  }
}

at::Tensor project_head(const at::Tensor& hidden, const at::Tensor& weight) {
  const bool grad = at::GradMode::is_enabled() && (hidden.requires_grad() || weight.requires_grad());
  return grad ? at::linear(hidden, weight) : head_logits(hidden, weight);
}

}  // namespace balcap::models
