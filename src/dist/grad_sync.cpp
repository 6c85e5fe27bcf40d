// Bucketed gradient all-reduce (see grad_sync.h).
#include "dist/grad_sync.h"

#include <c10/core/GradMode.h>

#include <algorithm>

#include "core/error.h"

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

// The rank a parameter's gradient is reduced to (-1: every rank, an all-reduce).
std::int64_t owner_of(const std::vector<std::int64_t>& owners, std::size_t k) { return owners.empty() ? -1 : owners[k]; }

// Starts one bucket's collective: an all-reduce, or a reduce to `owner`.
std::function<void()> start_bucket(at::Tensor& flat, std::int64_t owner, Communicator& comm) {
  return owner < 0 ? comm.all_reduce_sum_async(flat, "gradient all-reduce")
                   : comm.reduce_sum_async(flat, owner, "gradient reduce to its owner rank");
}

// Sums the grads of one bucket over ranks: flatten, reduce, copy back where this rank keeps them.
void reduce_bucket(std::vector<at::Tensor>& grads, std::int64_t owner, Communicator& comm, GradSyncStats& stats) {
  if (grads.empty()) return;
  std::vector<at::Tensor> flat_parts;
  for (const at::Tensor& g : grads) flat_parts.push_back(g.reshape({-1}));
  at::Tensor flat = at::cat(flat_parts);
  start_bucket(flat, owner, comm)();
  std::int64_t offset = 0;
  for (at::Tensor& g : grads) {
    if (owner < 0 || owner == comm.rank()) g.copy_(flat.narrow(0, offset, g.numel()).view(g.sizes()));
    offset += g.numel();
  }
  stats.buckets += 1;
  stats.bytes += flat.numel() * static_cast<std::int64_t>(flat.element_size());
  grads.clear();
}

// Releases the gradients this rank does not own (ZeRO-2: the owner alone keeps the sum).
void release_unowned(const std::vector<at::Tensor>& params, const std::vector<std::int64_t>& owners, std::int64_t rank) {
  for (std::size_t k = 0; k < owners.size(); ++k) {
    if (owners[k] != rank) at::Tensor(params[k]).mutable_grad() = at::Tensor();
  }
}

}  // namespace

GradSyncStats sync_gradients(const std::vector<at::Tensor>& params, Communicator& comm, std::int64_t bucket_bytes,
                             const std::vector<std::int64_t>& owners) {
  GradSyncStats stats;
  if (comm.world_size() == 1) return stats;
  BALCAP_CHECK(owners.empty() || owners.size() == params.size(), "sync_gradients: {} owners for {} parameters",
               owners.size(), params.size());
  const std::vector<bool> reduce = has_grad_somewhere(params, comm);
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> bucket;
  std::int64_t bytes = 0, bucket_owner = -1;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!reduce[i]) continue;
    at::Tensor p = params[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    const at::Tensor g = p.grad();
    const std::int64_t size = g.numel() * static_cast<std::int64_t>(g.element_size());
    const bool cut = !bucket.empty() && (bucket.front().scalar_type() != g.scalar_type() ||
                                         bucket.front().device() != g.device() || bytes + size > bucket_bytes ||
                                         owner_of(owners, i) != bucket_owner);
    if (cut) reduce_bucket(bucket, bucket_owner, comm, stats), bytes = 0;
    bucket.push_back(g);
    bucket_owner = owner_of(owners, i);
    bytes += size;
  }
  reduce_bucket(bucket, bucket_owner, comm, stats);
  release_unowned(params, owners, comm.rank());
  return stats;
}

OverlappedGradSync::OverlappedGradSync(std::vector<at::Tensor> params, Communicator& comm, std::int64_t bucket_bytes,
                                       std::vector<std::int64_t> owners)
    : params_(std::move(params)),
      comm_(comm),
      owners_(std::move(owners)),
      bucket_of_(params_.size()),
      arrived_(params_.size(), false) {
  BALCAP_CHECK(owners_.empty() || owners_.size() == params_.size(), "OverlappedGradSync: {} owners for {} parameters",
               owners_.size(), params_.size());
  std::int64_t bytes = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {  // reverse order: the output side's gradients come first
    const at::Tensor& p = params_[k];
    const std::int64_t size = p.numel() * static_cast<std::int64_t>(p.element_size());
    const bool cut = !buckets_.empty() && (params_[buckets_.back().members.front()].scalar_type() != p.scalar_type() ||
                                           params_[buckets_.back().members.front()].device() != p.device() ||
                                           bytes + size > bucket_bytes || buckets_.back().owner != owner_of(owners_, k));
    if (buckets_.empty() || cut) buckets_.emplace_back(), bytes = 0;
    Bucket& b = buckets_.back();
    b.owner = owner_of(owners_, k);
    b.offsets.push_back(b.members.empty() ? 0 : b.offsets.back() + params_[b.members.back()].numel());
    b.members.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    bytes += size;
  }
  for (Bucket& b : buckets_) {
    const at::Tensor& last = params_[b.members.back()];
    b.flat = at::zeros({b.offsets.back() + last.numel()}, last.options().requires_grad(false));
  }
  for (std::size_t k = 0; k < params_.size(); ++k) {
    hooks_.push_back(params_[k].register_hook([this, k](const at::Tensor& g) { on_gradient(k, g); }));
  }
}

OverlappedGradSync::~OverlappedGradSync() {
  for (std::size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void OverlappedGradSync::arm() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;
  next_start_ = 0;
  std::fill(arrived_.begin(), arrived_.end(), false);
  for (Bucket& b : buckets_) b.ready = 0, b.started = false, b.wait = nullptr;
}

void OverlappedGradSync::on_gradient(std::size_t k, const at::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || arrived_[k]) return;
  c10::NoGradGuard no_grad;
  Bucket& b = buckets_[bucket_of_[k]];
  const std::size_t slot = static_cast<std::size_t>(std::find(b.members.begin(), b.members.end(), k) - b.members.begin());
  at::Tensor out = b.flat.narrow(0, b.offsets[slot], params_[k].numel()).view(params_[k].sizes());
  const at::Tensor& earlier = params_[k].grad();  // the earlier micro-batches' sum (autograd adds `grad` after this hook)
  if (earlier.defined()) {
    at::add_out(out, earlier, grad);
  } else {
    out.copy_(grad);
  }
  arrived_[k] = true;
  ++b.ready;
  start_ready_buckets();
}

void OverlappedGradSync::start_ready_buckets() {
  while (next_start_ < buckets_.size() && buckets_[next_start_].ready == buckets_[next_start_].members.size()) {
    Bucket& b = buckets_[next_start_++];
    b.wait = start_bucket(b.flat, b.owner, comm_);
    b.started = true;
  }
}

void OverlappedGradSync::fill_missing(Bucket& b) {
  for (std::size_t slot = 0; slot < b.members.size(); ++slot) {
    const std::size_t k = b.members[slot];
    if (arrived_[k]) continue;
    at::Tensor out = b.flat.narrow(0, b.offsets[slot], params_[k].numel());
    const at::Tensor& g = params_[k].grad();
    if (g.defined()) {
      out.copy_(g.reshape({-1}));
      arrived_[k] = true;  // a gradient from an earlier micro-batch
    } else {
      out.zero_();  // none here (arrived_ stays false: maybe none on any rank)
    }
    ++b.ready;
  }
}

GradSyncStats OverlappedGradSync::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  c10::NoGradGuard no_grad;
  GradSyncStats stats;
  for (Bucket& b : buckets_) {
    if (!b.started) fill_missing(b);
  }
  start_ready_buckets();
  // Which parameters got a gradient on some rank: one without any keeps an undefined .grad (AdamW
  // then skips it, as in one process).
  std::vector<double> got(params_.size());
  for (std::size_t k = 0; k < params_.size(); ++k) got[k] = arrived_[k] ? 1.0 : 0.0;
  comm_.all_reduce_sum(got);
  for (Bucket& b : buckets_) {
    b.wait();
    for (std::size_t slot = 0; slot < b.members.size(); ++slot) {
      if (got[b.members[slot]] == 0 || (b.owner >= 0 && b.owner != comm_.rank())) continue;
      at::Tensor p = params_[b.members[slot]];
      const at::Tensor sum = b.flat.narrow(0, b.offsets[slot], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(sum);
      } else {
        p.mutable_grad() = sum.clone();
      }
    }
    stats.buckets += 1;
    stats.bytes += b.flat.numel() * static_cast<std::int64_t>(b.flat.element_size());
  }
  release_unowned(params_, owners_, comm_.rank());
  armed_ = false;
  return stats;
}

}  // namespace balcap::dist
