// Bucketed gradient all-reduce (see grad_sync.h).
#include "dist/grad_sync.h"

#include <c10/core/GradMode.h>

namespace balcap::dist {
namespace {

// Which parameters have a grad on at least one rank (one small host all-reduce).
std::vector<bool> has_grad_somewhere(const std::vector<at::Tensor>& params, Communicator& comm) {
  std::vector<double> mask(params.size(), 0.0);
  for (std::size_t i = 0; i < params.size(); ++i) mask[i] = params[i].grad().defined() ? 1.0 : 0.0;
  comm.all_reduce_sum(mask);
  std::vector<bool> out(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) out[i] = mask[i] > 0;
  return out;
}

// Sums the grads of one bucket over ranks: flatten, all-reduce, copy back.
void reduce_bucket(std::vector<at::Tensor>& grads, Communicator& comm, GradSyncStats& stats) {
  if (grads.empty()) return;
  std::vector<at::Tensor> flat_parts;
  for (const at::Tensor& g : grads) flat_parts.push_back(g.reshape({-1}));
  at::Tensor flat = at::cat(flat_parts);
  comm.all_reduce_sum(flat, "gradient all-reduce");
  std::int64_t offset = 0;
  for (at::Tensor& g : grads) {
    g.copy_(flat.narrow(0, offset, g.numel()).view(g.sizes()));
    offset += g.numel();
  }
  stats.buckets += 1;
  stats.bytes += flat.numel() * static_cast<std::int64_t>(flat.element_size());
  grads.clear();
}

}  // namespace

GradSyncStats all_reduce_gradients(const std::vector<at::Tensor>& params, Communicator& comm, std::int64_t bucket_bytes) {
  GradSyncStats stats;
  if (comm.world_size() == 1) return stats;
  const std::vector<bool> reduce = has_grad_somewhere(params, comm);
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> bucket;
  std::int64_t bytes = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!reduce[i]) continue;
    at::Tensor p = params[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    const at::Tensor g = p.grad();
    const std::int64_t size = g.numel() * static_cast<std::int64_t>(g.element_size());
    const bool cut = !bucket.empty() && (bucket.front().scalar_type() != g.scalar_type() ||
                                         bucket.front().device() != g.device() || bytes + size > bucket_bytes);
    if (cut) reduce_bucket(bucket, comm, stats), bytes = 0;
    bucket.push_back(g);
    bytes += size;
  }
  reduce_bucket(bucket, comm, stats);
  return stats;
}

}  // namespace balcap::dist
