// b-CapScore (src/rewards/b_capscore.h).
#include "rewards/b_capscore.h"

namespace balcap::rewards {

double b_capscore(double precision, double recall, double linguistic) {
  if (precision <= 0 || recall <= 0 || linguistic <= 0) return 0.0;
  return 3.0 / (1.0 / precision + 1.0 / recall + 1.0 / linguistic);
}

std::optional<BCapScoreRoles> b_capscore_roles(const config::RewardsConfig& rewards) {
  BCapScoreRoles roles;
  int found[3] = {0, 0, 0};
  for (const auto& [name, objective] : rewards.objectives) {
    if (objective.scorer == "claim_precision") roles.precision = name, ++found[0];
    if (objective.scorer == "claim_recall") roles.recall = name, ++found[1];
    if (objective.scorer == "judge_rating") roles.linguistic = name, ++found[2];
  }
  if (found[0] != 1 || found[1] != 1 || found[2] != 1) return std::nullopt;
  return roles;
}

}  // namespace balcap::rewards
