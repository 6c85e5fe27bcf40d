// GDPO and GRPO advantages (docs/architecture.md §7); see src/algo/advantage.h.
#include "algo/advantage.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace balcap::algo {
namespace {

// Sums that all_reduce_sum can combine over ranks: count, sum, sum of squares.
struct Moments {
  double count = 0, sum = 0, sum_sq = 0;
  void add(double x) {
    count += 1;
    sum += x;
    sum_sq += x * x;
  }
  double mean() const { return count > 0 ? sum / count : 0.0; }
  // Unbiased (n-1), as torch.std; 0 when fewer than 2 values.
  double std() const {
    if (count < 2) return 0.0;
    double var = (sum_sq - count * mean() * mean()) / (count - 1);
    return std::sqrt(std::max(var, 0.0));
  }
};

// (x - mean) / (std + eps) over the included values of one group (two passes, as torch); 0 for
// values not included, and all 0 when fewer than 2 are included or they are all equal.
void normalize_group(const double* x, const std::vector<bool>& included, std::size_t begin, std::size_t size,
                     double eps, double weight, double* out) {
  std::size_t n = 0;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (std::size_t j = 0; j < size; ++j) {
    if (!included[begin + j]) continue;
    ++n;
    sum += x[j];
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  if (n < 2 || lo == hi) return;  // zero spread: this objective says nothing about the group
  double mean = sum / static_cast<double>(n);
  double ss = 0;
  for (std::size_t j = 0; j < size; ++j) {
    if (included[begin + j]) ss += (x[j] - mean) * (x[j] - mean);
  }
  double std = std::sqrt(ss / static_cast<double>(n - 1));
  for (std::size_t j = 0; j < size; ++j) {
    if (included[begin + j]) out[j] += weight * (x[j] - mean) / (std + eps);
  }
}

std::size_t check_sizes(const AdvantageInput& input) {
  BALCAP_CHECK(!input.objectives.empty(), "advantage: no objectives\nHINT: rewards.objectives must name at least one");
  const std::size_t n = input.objectives[0].score.size();
  for (std::size_t k = 0; k < input.objectives.size(); ++k) {
    const ObjectiveRewards& r = input.objectives[k];
    BALCAP_CHECK(r.score.size() == n && r.valid.size() == n,
                 "advantage: objective '{}' has {} scores / {} valid flags, expected {}\n"
                 "HINT: every objective must score every sample",
                 r.name, r.score.size(), r.valid.size(), n);
    BALCAP_CHECK(input.excluded.empty() || input.excluded[k].size() == n,
                 "advantage: exclusion flags of '{}' have {} entries, expected {}\nHINT: pass the length mask's result",
                 r.name, input.excluded[k].size(), n);
  }
  BALCAP_CHECK(input.excluded.empty() || input.excluded.size() == input.objectives.size(),
               "advantage: {} exclusion lists for {} objectives\nHINT: pass the length mask's result",
               input.excluded.size(), input.objectives.size());
  std::int64_t total = 0;
  for (std::int64_t g : input.group_sizes) {
    BALCAP_CHECK(g >= 1, "advantage: a group of {} samples\nHINT: every group needs at least one sample", g);
    total += g;
  }
  BALCAP_CHECK(static_cast<std::size_t>(total) == n,
               "advantage: group sizes sum to {} but there are {} samples\nHINT: one group per prompt, G samples each",
               total, n);
  return n;
}

// included[k][i]: objective k's score of sample i enters the statistics.
std::vector<std::vector<bool>> included_flags(const AdvantageInput& input) {
  std::vector<std::vector<bool>> inc;
  for (std::size_t k = 0; k < input.objectives.size(); ++k) {
    std::vector<bool> v = input.objectives[k].valid;
    if (!input.excluded.empty()) {
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = v[i] && !input.excluded[k][i];
    }
    inc.push_back(std::move(v));
  }
  return inc;
}

std::vector<double> gdpo(const AdvantageInput& input, const std::vector<std::vector<bool>>& inc, double eps,
                         std::size_t n) {
  std::vector<double> adv(n, 0.0);
  for (std::size_t k = 0; k < input.objectives.size(); ++k) {
    const ObjectiveRewards& r = input.objectives[k];
    std::size_t begin = 0;
    for (std::int64_t g : input.group_sizes) {
      normalize_group(r.score.data() + begin, inc[k], begin, g, eps, r.weight, adv.data() + begin);
      begin += g;
    }
  }
  return adv;
}

std::vector<double> grpo(const AdvantageInput& input, const std::vector<std::vector<bool>>& inc, double eps,
                         std::size_t n) {
  // A sample enters the group statistics only when every objective scored it.
  std::vector<double> total(n, 0.0);
  std::vector<bool> all_included(n, true);
  for (std::size_t k = 0; k < input.objectives.size(); ++k) {
    for (std::size_t i = 0; i < n; ++i) {
      total[i] += input.objectives[k].weight * input.objectives[k].score[i];
      all_included[i] = all_included[i] && inc[k][i];
    }
  }
  std::vector<double> adv(n, 0.0);
  std::size_t begin = 0;
  for (std::int64_t g : input.group_sizes) {
    normalize_group(total.data() + begin, all_included, begin, g, eps, 1.0, adv.data() + begin);
    begin += g;
  }
  return adv;
}

// (A - mean) / (std + eps) over the global batch: one all-reduce of (count, sum, sum of squares).
void batch_normalize(std::vector<double>& adv, double eps, dist::Communicator& comm) {
  Moments m;
  for (double a : adv) m.add(a);
  std::vector<double> packed = {m.count, m.sum, m.sum_sq};
  comm.all_reduce_sum(packed);
  Moments global{packed[0], packed[1], packed[2]};
  double mean = global.mean(), std = global.std();
  for (double& a : adv) a = (a - mean) / (std + eps);
}

}  // namespace

std::vector<double> compute_advantages(const AdvantageInput& input, const AdvantageOptions& options,
                                       dist::Communicator& comm) {
  const std::size_t n = check_sizes(input);
  std::vector<std::vector<bool>> inc = included_flags(input);
  if (options.mode == "grpo") return grpo(input, inc, options.eps, n);
  BALCAP_CHECK(options.mode == "gdpo", "advantage mode '{}' is unknown\nHINT: algo.advantage is gdpo or grpo",
               options.mode);
  std::vector<double> adv = gdpo(input, inc, options.eps, n);
  if (options.batch_normalize) batch_normalize(adv, options.eps, comm);
  return adv;
}

AdvantageResult advantages_from_rewards(std::vector<ObjectiveRewards> rewards, const std::vector<SampleLength>& lengths,
                                        const std::vector<std::int64_t>& group_sizes,
                                        const config::LengthMaskConfig& mask, const AdvantageOptions& options,
                                        dist::Communicator& comm) {
  const std::size_t k_count = rewards.size();
  // Raw-score moments (before the mask rewrites anything) and masked counts, per objective,
  // then the advantage moments: all reduced over ranks in one call.
  std::vector<Moments> raw(k_count);
  for (std::size_t k = 0; k < k_count; ++k) {
    for (std::size_t i = 0; i < rewards[k].score.size() && i < rewards[k].valid.size(); ++i) {
      if (rewards[k].valid[i]) raw[k].add(rewards[k].score[i]);
    }
  }
  LengthMaskResult masked = apply_length_mask(rewards, lengths, mask);
  AdvantageInput input{std::move(rewards), masked.excluded, group_sizes};
  AdvantageResult result;
  result.advantages = compute_advantages(input, options, comm);
  result.masked = std::move(masked.masked);

  std::vector<double> packed;
  for (std::size_t k = 0; k < k_count; ++k) {
    double masked_count = std::count(result.masked[k].begin(), result.masked[k].end(), true);
    packed.insert(packed.end(), {raw[k].count, raw[k].sum, raw[k].sum_sq, masked_count});
  }
  Moments adv;
  for (double a : result.advantages) adv.add(a);
  packed.insert(packed.end(), {adv.count, adv.sum, adv.sum_sq});
  comm.all_reduce_sum(packed);

  AdvantageStats& s = result.stats;
  Moments adv_global{packed[4 * k_count], packed[4 * k_count + 1], packed[4 * k_count + 2]};
  s.samples = static_cast<std::int64_t>(adv_global.count);
  double samples = std::max(adv_global.count, 1.0);
  for (std::size_t k = 0; k < k_count; ++k) {
    Moments m{packed[4 * k], packed[4 * k + 1], packed[4 * k + 2]};
    s.objectives.push_back(
        {input.objectives[k].name, m.mean(), m.std(), m.count / samples, packed[4 * k + 3] / samples});
  }
  s.mean = adv_global.mean();
  s.std = adv_global.std();
  std::vector<double> extremes;  // this rank's (min, max); every rank's, gathered
  if (!result.advantages.empty()) {
    auto [lo, hi] = std::minmax_element(result.advantages.begin(), result.advantages.end());
    extremes = {*lo, *hi};
  }
  if (comm.world_size() > 1) extremes = dist::all_gather(comm, extremes);
  for (std::size_t i = 0; i + 1 < extremes.size(); i += 2) {
    s.min = i == 0 ? extremes[i] : std::min(s.min, extremes[i]);
    s.max = i == 0 ? extremes[i + 1] : std::max(s.max, extremes[i + 1]);
  }
  return result;
}

}  // namespace balcap::algo
