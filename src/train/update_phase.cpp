// Update phase; see src/train/update_phase.h.
#include "train/update_phase.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <limits>

#include "algo/policy_loss.h"
#include "core/fault_points.h"
#include "core/log.h"
#include "dist/grad_sync.h"
#include "dist/param_shards.h"
#include "models/policy_logprobs.h"
#include "train/stop_signal.h"

namespace balcap::train {

namespace {

// Exactly `parts` consecutive ranges of n rows, near-equal (the first n % parts get one more; empty
// ones when parts > n).
std::vector<std::pair<std::int64_t, std::int64_t>> split_into(std::int64_t n, std::int64_t parts) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  std::int64_t start = 0;
  for (std::int64_t p = 0; p < parts; ++p) {
    const std::int64_t len = n / parts + (p < n % parts ? 1 : 0);
    out.emplace_back(start, start + len);
    start += len;
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::int64_t, std::int64_t>> split_evenly(std::int64_t n, std::int64_t parts) {
  return split_into(n, std::max<std::int64_t>(1, std::min(parts, n)));
}

std::int64_t micro_batch_count(const config::TrainConfig& train, std::int64_t n) {
  if (train.grad_accum > 0) return train.grad_accum;
  return (n + train.micro_batch - 1) / train.micro_batch;
}

std::string non_finite_tensors(double loss, const AdamW& optimizer) {
  std::vector<std::string> found;
  if (!std::isfinite(loss)) found.push_back(fmt::format("the loss is {}", loss));
  std::string first;
  std::int64_t count = 0;
  for (const auto& [name, param] : optimizer.params()) {
    const at::Tensor& g = param.grad();
    if (!g.defined() || at::isfinite(g).all().item<bool>()) continue;
    if (count++ == 0) first = name;
  }
  if (count == 1) found.push_back(fmt::format("the gradient of {} is non-finite", first));
  if (count > 1) {
    found.push_back(fmt::format("the gradients of {} and {} more parameters are non-finite", first, count - 1));
  }
  // Sharded optimizer: the norm is global, but this rank holds only the gradients it owns.
  if (found.empty()) found.push_back("a gradient held by another rank is non-finite");
  return fmt::format("{}", fmt::join(found, "; "));
}

void loss_fault_point(at::Tensor& loss) {
  if (fault::hit("update.loss") == fault::Action::nan) loss = loss * std::numeric_limits<double>::quiet_NaN();
}

void gradient_fault_point(const AdamW& optimizer) {
  if (fault::hit("update.grad") != fault::Action::nan) return;
  const auto& params = optimizer.params();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    at::Tensor g = it->second.grad();
    if (!g.defined()) continue;
    g.fill_(std::numeric_limits<double>::quiet_NaN());
    spdlog::warn("BALCAP_FAULTS update.grad: the gradient of {} was made NaN", it->first);
    return;
  }
}

namespace {

using Clock = std::chrono::steady_clock;

// Per-token inputs of some rows: old logprobs, advantages; and the rows themselves.
struct MicroBatch {
  std::vector<models::LogprobRow> rows;  // prompt + caption, every caption token scored
  std::vector<float> old_logprobs, advantages;
  std::int64_t padding = 0;  // right-padding positions of the forward: rows x longest - their lengths
};

std::int64_t row_length(const Rollout& rollout, std::int64_t i) {
  const sampling::Sample& s = rollout.samples.at(static_cast<std::size_t>(i));
  return static_cast<std::int64_t>(rollout.items.at(static_cast<std::size_t>(s.request)).prompt.ids.size() + s.ids.size());
}

// The rows of a mini-batch [first, last) in the order its micro-batches take them: as sampled, or with
// train.length_buckets shortest first (a stable sort: rows of equal length keep their order).
std::vector<std::int64_t> row_order(const config::TrainConfig& train, const Rollout& rollout, std::int64_t first,
                                    std::int64_t last) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(last - first));
  std::iota(order.begin(), order.end(), first);
  if (train.length_buckets) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int64_t a, std::int64_t b) { return row_length(rollout, a) < row_length(rollout, b); });
  }
  return order;
}

// Rows order[a .. b).
MicroBatch micro_batch(const Rollout& rollout, const std::vector<double>& adv, const std::vector<std::int64_t>& order,
                       std::int64_t a, std::int64_t b) {
  MicroBatch mb;
  std::int64_t longest = 0, total = 0;
  for (std::int64_t k = a; k < b; ++k) {
    const std::int64_t i = order.at(static_cast<std::size_t>(k));
    const sampling::Sample& s = rollout.samples.at(static_cast<std::size_t>(i));
    mb.rows.push_back(models::completion_row(rollout.items.at(static_cast<std::size_t>(s.request)).prompt, s.ids));
    mb.old_logprobs.insert(mb.old_logprobs.end(), s.logprobs.begin(), s.logprobs.end());
    mb.advantages.insert(mb.advantages.end(), s.ids.size(), static_cast<float>(adv.at(static_cast<std::size_t>(i))));
    longest = std::max(longest, row_length(rollout, i));
    total += row_length(rollout, i);
  }
  mb.padding = (b - a) * longest - total;
  return mb;
}

// Loss parts of one mini-batch, summed over its micro-batches (detached, on the device).
struct LossSums {
  at::Tensor loss, pg, kl, entropy, clip, approx_kl;
  void add(const algo::PolicyLossOutput& o) {
    auto acc = [](at::Tensor& sum, const at::Tensor& v) { sum = sum.defined() ? sum + v.detach() : v.detach(); };
    acc(loss, o.loss), acc(pg, o.pg_loss), acc(kl, o.kl), acc(entropy, o.entropy), acc(clip, o.clip_frac);
    acc(approx_kl, o.approx_kl);
  }
};

at::Tensor reference_logprobs(const UpdateInputs& in, const MicroBatch& mb) {
  if (in.reference == nullptr) return {};
  at::NoGradGuard no_grad;
  models::PolicyLogprobsOptions opt;
  opt.tokens.temperature = in.config->sampling.temperature;
  opt.tokens.chunk_bytes = in.config->train.logits_chunk_mib << 20;
  return models::policy_logprobs(*in.reference, mb.rows, opt).logprobs;
}

// Queries (trained tokens) of each row of a micro-batch.
std::vector<std::int64_t> row_counts(const MicroBatch& mb) {
  std::vector<std::int64_t> counts;
  for (const models::LogprobRow& row : mb.rows) counts.push_back(static_cast<std::int64_t>(row.positions.size()));
  return counts;
}

// Forward + backward of one micro-batch; returns its loss parts. The loss's inputs other than the
// policy's own log-probabilities are known before the forward pass, so (train.head_grad_in_forward)
// the head computes its gradients there from the loss's per-token gradient.
algo::PolicyLossOutput micro_step(const UpdateInputs& in, const MicroBatch& mb, std::int64_t total_tokens,
                                  std::int64_t total_sequences) {
  const config::Config& cfg = *in.config;
  const at::Device dev = in.policy->device();
  const algo::PolicyLossOptions loss_options = algo::policy_loss_options_from(cfg.algo);
  algo::PolicyLossInputs x;
  x.old_logprobs = at::tensor(mb.old_logprobs).to(dev);
  x.advantages = at::tensor(mb.advantages).to(dev);
  x.weights = algo::aggregation_weights(row_counts(mb), cfg.algo.loss_aggregation, total_tokens, total_sequences).to(dev);
  x.ref_logprobs = reference_logprobs(in, mb);
  models::PolicyLogprobsOptions opt;
  opt.tokens.temperature = cfg.sampling.temperature;
  opt.tokens.entropy = true;
  opt.tokens.entropy_grad = cfg.algo.entropy_coef > 0;
  opt.tokens.chunk_bytes = cfg.train.logits_chunk_mib << 20;
  if (cfg.train.head_grad_in_forward) {
    opt.tokens.gradient_in_forward = [&x, &loss_options](std::int64_t start, const at::Tensor& logprobs,
                                                         const at::Tensor& entropy) {
      return algo::policy_loss_token_gradient(x, start, logprobs, entropy, loss_options);
    };
  }
  opt.share_images = cfg.train.vision_once_per_image;
  models::PolicyLogprobs lp = models::policy_logprobs(*in.policy, mb.rows, opt);
  x.logprobs = lp.logprobs;
  x.entropy = lp.entropy;
  algo::PolicyLossOutput out = algo::policy_loss(x, loss_options);
  loss_fault_point(out.loss);
  out.loss.backward();
  return out;
}

// Tokens and captions of rows [first, last) over all ranks (the aggregation denominators).
std::pair<std::int64_t, std::int64_t> global_counts(const UpdateInputs& in, const Rollout& rollout, std::int64_t first,
                                                    std::int64_t last) {
  std::vector<double> counts{0, static_cast<double>(last - first)};
  for (std::int64_t i = first; i < last; ++i) counts[0] += static_cast<double>(rollout.samples[i].ids.size());
  in.comm->all_reduce_sum(counts);
  return {static_cast<std::int64_t>(counts[0]), static_cast<std::int64_t>(counts[1])};
}

struct MiniBatchResult {
  double loss = 0, pg = 0, kl = 0, entropy = 0, clip = 0, approx_kl = 0, grad_norm = 0;
  bool finite = true, applied = false, aborted = false;
  std::string non_finite;  // when not applied: which tensor was non-finite
  std::int64_t tokens = 0;
  std::int64_t positions = 0, padding = 0;  // forward positions of the rows, and of their right padding
  double optimizer_seconds = 0;
};

double item_or_zero(const at::Tensor& t) { return t.defined() ? t.item<double>() : 0.0; }

// One process: a stop signal is checked after each micro-batch; several: once per mini-batch, agreed
// by all ranks (ranks hold different micro-batch counts).
bool stop_now(const UpdateInputs& in, bool end_of_mini_batch) {
  if (in.comm->world_size() == 1) return stop_requested();
  return end_of_mini_batch && stop_agreed(*in.comm);
}

// The sharded optimizer's parameter owners (empty: not sharded).
const std::vector<std::int64_t>& owners(const UpdateInputs& in) {
  static const std::vector<std::int64_t> none;
  return in.param_owners != nullptr ? *in.param_owners : none;
}

// The micro-batches of rows [first, last) (none on a rank without rows) and, unless aborted, one
// optimizer step on the gradients summed over ranks (or reduced to their owners).
MiniBatchResult mini_batch(const UpdateInputs& in, const Rollout& rollout, const std::vector<double>& adv,
                           std::int64_t first, std::int64_t last, double lr, bool may_abort) {
  MiniBatchResult r;
  const auto [tokens, sequences] = global_counts(in, rollout, first, last);
  LossSums sums;
  const std::int64_t rows = last - first;
  const auto parts = rows > 0 ? split_evenly(rows, micro_batch_count(in.config->train, rows))
                              : std::vector<std::pair<std::int64_t, std::int64_t>>{};
  const std::vector<std::int64_t> order = row_order(in.config->train, rollout, first, last);
  for (std::size_t m = 0; m < parts.size(); ++m) {
    const auto [a, b] = parts[m];
    if (in.overlap != nullptr && m + 1 == parts.size()) in.overlap->arm();  // the last backward overlaps the sync
    MicroBatch mb = micro_batch(rollout, adv, order, a, b);
    sums.add(micro_step(in, mb, tokens, sequences));
    fault::hit("update.micro_batch");  // reliability tests: a kill during the update
    r.tokens += static_cast<std::int64_t>(mb.advantages.size());
    r.padding += mb.padding;
    for (const models::LogprobRow& row : mb.rows) r.positions += static_cast<std::int64_t>(row.ids.size());
    if (may_abort && stop_now(in, false)) break;
  }
  if (in.overlap != nullptr) {
    if (parts.empty()) in.overlap->arm();  // no rows here: this rank's buckets start now, in the same order
    in.overlap->finish();
  } else {
    dist::sync_gradients(in.optimizer->tensors(), *in.comm, in.config->dist.bucket_bytes(), owners(in));
  }
  // After the gradient sync: ranks that ran a backward pass have started its bucket collectives, so
  // every rank makes this agreement call after the same sequence of collectives.
  if (may_abort && stop_now(in, true)) {
    in.optimizer->zero_grad();
    r.aborted = true;
    return r;
  }

  std::vector<double> v{item_or_zero(sums.loss), item_or_zero(sums.pg), item_or_zero(sums.kl),
                        item_or_zero(sums.entropy), item_or_zero(sums.clip), item_or_zero(sums.approx_kl)};
  in.comm->all_reduce_sum(v);  // each rank's sums carry the global weights: the sum is the global value
  r.loss = v[0], r.pg = v[1], r.kl = v[2], r.entropy = v[3], r.clip = v[4], r.approx_kl = v[5];
  gradient_fault_point(*in.optimizer);
  const auto t0 = Clock::now();
  const GradNorm g = in.optimizer->clip_grad_norm(in.config->optim.grad_clip, owners(in).empty() ? nullptr : in.comm);
  r.grad_norm = g.norm;
  r.finite = std::isfinite(r.loss) && g.finite;
  if (r.finite) {
    in.optimizer->step(lr);
    if (!owners(in).empty()) dist::broadcast_from_owners(in.optimizer->tensors(), owners(in), *in.comm);
    r.applied = true;
  } else {
    r.non_finite = non_finite_tensors(r.loss, *in.optimizer);  // before zero_grad drops the evidence
  }
  in.optimizer->zero_grad();
  r.optimizer_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace

std::vector<std::pair<std::int64_t, std::int64_t>> mini_batch_ranges(std::int64_t n, std::int64_t mini_batches,
                                                                     dist::Communicator& comm) {
  if (comm.world_size() == 1) return split_evenly(n, mini_batches);
  std::vector<double> counts{static_cast<double>(n)};
  comm.all_reduce_sum(counts);
  return split_into(n, std::max<std::int64_t>(1, std::min(mini_batches, static_cast<std::int64_t>(counts[0]))));
}

UpdateOutcome update_phase(const UpdateInputs& in, const Rollout& rollout, const std::vector<double>& advantages,
                           std::int64_t& updates_done) {
  const auto t0 = Clock::now();
  UpdateOutcome out;
  const config::Config& cfg = *in.config;
  const auto n = static_cast<std::int64_t>(rollout.samples.size());
  std::int64_t mini_batches_run = 0;
  in.policy->module().train();
  for (std::int64_t epoch = 0; epoch < cfg.algo.ppo_epochs; ++epoch) {
    const auto ranges = mini_batch_ranges(n, cfg.algo.mini_batches, *in.comm);
    for (auto [first, last] : ranges) {
      const double lr = in.schedule->lr_at(updates_done);
      MiniBatchResult r = mini_batch(in, rollout, advantages, first, last, lr, out.optimizer_steps == 0);
      out.tokens += r.tokens, out.positions += r.positions, out.padding += r.padding;
      if (r.aborted) {
        out.aborted = true;
        in.policy->module().eval();
        return out;
      }
      ++mini_batches_run;
      out.loss += r.loss, out.pg_loss += r.pg, out.kl += r.kl, out.entropy += r.entropy;
      out.clip_frac += r.clip, out.approx_kl += r.approx_kl, out.grad_norm += r.grad_norm;
      if (std::isfinite(r.grad_norm)) out.grad_norm_max = std::max(out.grad_norm_max, r.grad_norm);
      out.optimizer_seconds += r.optimizer_seconds;
      if (r.applied) {
        ++out.optimizer_steps, ++updates_done, out.lr = lr;
      } else {
        ++out.skipped_steps;
        spdlog::warn("step {}: optimizer step {} of {} skipped, nothing applied: {} (gradient norm {})", in.step,
                     mini_batches_run, cfg.algo.ppo_epochs * static_cast<std::int64_t>(ranges.size()), r.non_finite,
                     r.grad_norm);
      }
    }
  }
  in.policy->module().eval();
  const double m = static_cast<double>(std::max<std::int64_t>(1, mini_batches_run));
  for (double* v : {&out.loss, &out.pg_loss, &out.kl, &out.entropy, &out.clip_frac, &out.approx_kl, &out.grad_norm}) {
    *v /= m;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace balcap::train
