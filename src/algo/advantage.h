#pragma once
// Rewards -> advantages (docs/architecture.md §7), on host vectors (a step has a few hundred numbers).
//
// Group g = one image's G captions (consecutive samples), objective k with weight w_k, raw score
// r_k(g,j) after the length mask. std is the unbiased (n-1) estimate, as torch.std.
//   GDPO (default): A_k(g,j) = (r_k(g,j) - mean_j r_k) / (std_j r_k + eps) over the group's
//     *included* samples (valid, not excluded by the mask); A(g,j) = sum_k w_k A_k(g,j);
//     then, when batch_normalize, A <- (A - mean) / (std + eps) over every sample of the global
//     batch (all ranks: one all_reduce_sum of count, sum, sum of squares).
//   GRPO (baseline): r(g,j) = sum_k w_k r_k(g,j); A(g,j) = (r - mean_j r) / (std_j r + eps) over
//     the group's samples whose every objective is included; no batch normalisation.
// A sample left out of an objective's statistics gets 0 from it (GRPO: 0 altogether). An
// objective whose included scores in a group are all equal, or fewer than 2, contributes
// exactly 0 in that group (no division of rounding noise by eps).
#include <cstdint>
#include <string>
#include <vector>

#include "algo/length_mask.h"
#include "config/algo.h"
#include "dist/communicator.h"

namespace balcap::algo {

struct AdvantageOptions {
  std::string mode = "gdpo";  // gdpo | grpo
  double eps = 1e-6;
  bool batch_normalize = true;  // GDPO only

  static AdvantageOptions from(const config::AlgoConfig& algo) {
    return AdvantageOptions{algo.advantage, algo.eps, algo.batch_normalize};
  }
};

// What the advantage sees: scores after the length mask, which samples the mask excludes, and
// how the N samples split into groups (consecutive runs; sizes sum to N).
struct AdvantageInput {
  std::vector<ObjectiveRewards> objectives;  // K
  std::vector<std::vector<bool>> excluded;   // [K][N]; empty = none excluded
  std::vector<std::int64_t> group_sizes;     // one per group
};

// Per-objective metrics (docs/architecture.md §11) over the global batch.
struct ObjectiveStats {
  std::string name;
  double raw_mean = 0;         // mean of the valid raw scores (before the mask), 0 if none
  double raw_std = 0;          // unbiased std of those, 0 if fewer than 2
  double valid_fraction = 0;   // valid raw scores / samples
  double masked_fraction = 0;  // length-masked samples / samples
};

struct AdvantageStats {
  std::vector<ObjectiveStats> objectives;
  double mean = 0, std = 0;  // of the final advantages, global batch (std unbiased)
  double min = 0, max = 0;   // of this rank's final advantages
  std::int64_t samples = 0;  // global batch size
};

struct AdvantageResult {
  std::vector<double> advantages;         // [N], one per sample
  std::vector<std::vector<bool>> masked;  // [K][N] length-masked flags (metrics, inspect)
  AdvantageStats stats;
};

// Advantages of already-masked rewards. `comm` is used only for GDPO's batch normalisation.
// Throws balcap::Error on inconsistent sizes or an unknown mode.
std::vector<double> compute_advantages(const AdvantageInput& input, const AdvantageOptions& options,
                                       dist::Communicator& comm);

// A whole step after scoring: raw-score metrics, the length mask, the advantages and their
// metrics. `rewards` are the raw judge scores (K objectives x N samples).
AdvantageResult advantages_from_rewards(std::vector<ObjectiveRewards> rewards, const std::vector<SampleLength>& lengths,
                                        const std::vector<std::int64_t>& group_sizes,
                                        const config::LengthMaskConfig& mask, const AdvantageOptions& options,
                                        dist::Communicator& comm);

}  // namespace balcap::algo
