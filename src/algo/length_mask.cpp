// Length-conditional masking (docs/architecture.md §6); see src/algo/length_mask.h.
#include "algo/length_mask.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace balcap::algo {

bool length_out_of_bounds(const SampleLength& length, const config::LengthMaskConfig& mask) {
  if (length.reference_tokens > 0) {
    double rho = static_cast<double>(length.caption_tokens) / length.reference_tokens;
    return rho < mask.min_ratio || rho > mask.max_ratio;
  }
  // No reference to compare with: absolute bounds in tokens.
  return length.caption_tokens < mask.min_tokens || length.caption_tokens > mask.max_tokens;
}

namespace {

bool is_listed(const config::LengthMaskConfig& mask, const std::string& name) {
  return std::find(mask.objectives.begin(), mask.objectives.end(), name) != mask.objectives.end();
}

void check_listed_objectives_exist(const std::vector<ObjectiveRewards>& rewards, const config::LengthMaskConfig& mask) {
  for (const std::string& name : mask.objectives) {
    bool found = std::any_of(rewards.begin(), rewards.end(), [&](const ObjectiveRewards& r) { return r.name == name; });
    BALCAP_CHECK(found,
                 "length_mask.objectives names '{}', which is not one of the objectives being scored\n"
                 "HINT: list only names of rewards.objectives in rewards.length_mask.objectives",
                 name);
  }
}

// The linear length penalty of one sample: linear_coef * |rho - 1|, 0 without a reference.
double linear_penalty(const SampleLength& length, const config::LengthMaskConfig& mask) {
  if (length.reference_tokens <= 0) return 0.0;
  const double rho = static_cast<double>(length.caption_tokens) / length.reference_tokens;
  return mask.linear_coef * std::abs(rho - 1.0);
}

void apply_linear_penalty(std::vector<ObjectiveRewards>& rewards, const std::vector<SampleLength>& lengths,
                          const config::LengthMaskConfig& mask) {
  for (ObjectiveRewards& r : rewards) {
    if (!is_listed(mask, r.name)) continue;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      if (r.valid[i]) r.score[i] -= linear_penalty(lengths[i], mask);
    }
  }
}

}  // namespace

LengthMaskResult apply_length_mask(std::vector<ObjectiveRewards>& rewards, const std::vector<SampleLength>& lengths,
                                   const config::LengthMaskConfig& mask) {
  const std::size_t n = lengths.size();
  LengthMaskResult result;
  result.masked.assign(rewards.size(), std::vector<bool>(n, false));
  result.excluded.assign(rewards.size(), std::vector<bool>(n, false));
  for (const ObjectiveRewards& r : rewards) {
    BALCAP_CHECK(r.score.size() == n && r.valid.size() == n,
                 "objective '{}' has {} scores and {} valid flags for {} samples\n"
                 "HINT: every objective must score every sample of the batch",
                 r.name, r.score.size(), r.valid.size(), n);
  }
  if (!mask.enabled) return result;
  check_listed_objectives_exist(rewards, mask);
  if (mask.mask_mode == "linear") {
    apply_linear_penalty(rewards, lengths, mask);
    return result;
  }

  std::vector<bool> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = length_out_of_bounds(lengths[i], mask);
  const bool exclude = mask.mask_mode == "exclude";
  for (std::size_t k = 0; k < rewards.size(); ++k) {
    if (!is_listed(mask, rewards[k].name)) continue;
    for (std::size_t i = 0; i < n; ++i) {
      if (!out[i]) continue;
      result.masked[k][i] = true;
      if (exclude) {
        result.excluded[k][i] = true;
      } else {
        rewards[k].score[i] = mask.masked_value;
        rewards[k].valid[i] = true;
      }
    }
  }
  return result;
}

}  // namespace balcap::algo
