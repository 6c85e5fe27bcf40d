#pragma once
// Private to src/algo: Length-conditional masking (docs/architecture.md §6): the objectives listed in rewards.length_mask.objectives
// pay nothing for captions whose length is far from the reference's, so the linguistic reward
// cannot be bought with a caption that is too short or too long.
//
//   rho = caption_tokens / reference_tokens   (reference_tokens = mean over the record's references)
//   masked  <=>  rho < min_ratio  or  rho > max_ratio
//   no reference (reference_tokens <= 0): masked <=> caption_tokens outside [min_tokens, max_tokens]
//
// mask_mode `zero`: a masked sample's score becomes masked_value (and counts as valid: the mask,
// not a judge, decided it) and stays in the group statistics. `exclude`: the sample is left out
// of that objective's group statistics and gets advantage 0 from it.
//
// mask_mode `linear` (the baseline the mask is compared with, scripts/ablate): no bounds and no
// masked flags; every sample with a reference has its listed scores lowered by
// linear_coef * |rho - 1| (scores may go below 0; invalid scores stay invalid).
#include <cstdint>
#include <string>
#include <vector>

#include "config/length_mask.h"

namespace balcap::algo {

// One objective's scores for the N samples of a batch (groups consecutive, request-major).
struct ObjectiveRewards {
  std::string name;
  double weight = 1.0;
  std::vector<double> score;  // [N] raw score in [0, 1] (below 0 after a linear length penalty)
  std::vector<bool> valid;    // [N] false: the judge gave no score (left out of the statistics)
};

// Caption length of one sample and the mean token length of its record's references.
struct SampleLength {
  std::int64_t caption_tokens = 0;
  double reference_tokens = 0;  // <= 0: the record has no reference (absolute bounds apply)
};

// Whether one sample's length is outside the bounds (ignores `enabled` and `objectives`).
bool length_out_of_bounds(const SampleLength& length, const config::LengthMaskConfig& mask);

// Per objective, per sample: masked flags [K][N] (all false for objectives not listed, or when
// the mask is disabled) and the samples the advantage must leave out of the statistics.
struct LengthMaskResult {
  std::vector<std::vector<bool>> masked;    // [K][N]
  std::vector<std::vector<bool>> excluded;  // [K][N] masked && mask_mode == exclude
};

// Applies the mask in place: mask_mode zero rewrites masked scores to masked_value (valid);
// exclude leaves scores as they are and reports them in `excluded`; linear subtracts the penalty. Throws balcap::Error when
// `lengths` does not have N entries or a listed objective is not among `rewards`.
LengthMaskResult apply_length_mask(std::vector<ObjectiveRewards>& rewards, const std::vector<SampleLength>& lengths,
                                   const config::LengthMaskConfig& mask);

}  // namespace balcap::algo
