#pragma once
// b-CapScore, BalCapRL's balanced caption metric: the harmonic mean of precision, recall and
// linguistic quality, each in [0, 1]. Like an F-score, it is high only when all three are: a
// caption that is precise but covers nothing, or complete but wrong, scores near 0.
//   b = 3 / (1/p + 1/r + 1/l), and b = 0 when any of the three is 0 (the limit of the formula).
// Per caption from its three raw scores; per run (a step's batch, an eval set) from the three means,
// as an F1 from corpus-level precision and recall.
//
// The three roles are found by scorer: the objective scored by claim_precision (precision),
// claim_recall (recall) and judge_rating (linguistic), one each. A config without exactly one of
// each (an ablation that drops an objective, qa_accuracy as correctness) has no b-CapScore.
#include <optional>
#include <string>

#include "config/rewards.h"

namespace balcap::rewards {

double b_capscore(double precision, double recall, double linguistic);

struct BCapScoreRoles {
  std::string precision, recall, linguistic;  // objective names (keys of rewards.objectives)
};

// The one objective scored by `scorer` ("claim_precision", ...), or "" when none or several are.
std::string objective_with_scorer(const config::RewardsConfig& rewards, const std::string& scorer);

// The objectives that play the three roles, or nullopt when the config lacks one or has two.
std::optional<BCapScoreRoles> b_capscore_roles(const config::RewardsConfig& rewards);

}  // namespace balcap::rewards
