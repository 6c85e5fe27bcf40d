#pragma once
// Every objective on every caption of a step: the K x N raw-score matrix the advantage reads.
#include <memory>
#include <string>
#include <vector>

#include "rewards/objective.h"

namespace balcap::rewards {

struct RewardMatrix {
  std::vector<std::string> objectives;     // K names, in the order of the objectives
  std::vector<std::vector<double>> score;  // [K][N]
  std::vector<std::vector<bool>> valid;    // [K][N]
  std::vector<double> seconds;             // [K] wall time of each objective (metrics: reward phase)
};

// Calls each objective once on all captions. Throws balcap::Error when an objective returns a
// score count other than N, or a score outside [0, 1] (a scorer bug must not become a reward).
RewardMatrix score_captions(const std::vector<std::unique_ptr<Objective>>& objectives,
                            const std::vector<ScoredCaption>& captions);

}  // namespace balcap::rewards
