// b-CapScore (src/rewards/b_capscore.h).
#include "rewards/b_capscore.h"

namespace balcap::rewards {

double b_capscore(double precision, double recall, double linguistic) {
  if (precision <= 0 || recall <= 0 || linguistic <= 0) return 0.0;
  return 3.0 / (1.0 / precision + 1.0 / recall + 1.0 / linguistic);
}

std::string objective_with_scorer(const config::RewardsConfig& rewards, const std::string& scorer) {
  std::string found;
  int n = 0;
  for (const auto& [name, objective] : rewards.objectives) {
    if (objective.scorer == scorer) found = name, ++n;
  }
  return n == 1 ? found : std::string();
}

std::optional<BCapScoreRoles> b_capscore_roles(const config::RewardsConfig& rewards) {
  BCapScoreRoles roles{objective_with_scorer(rewards, "claim_precision"), objective_with_scorer(rewards, "claim_recall"),
                       objective_with_scorer(rewards, "judge_rating")};
  if (roles.precision.empty() || roles.recall.empty() || roles.linguistic.empty()) return std::nullopt;
  return roles;
}

}  // namespace balcap::rewards
