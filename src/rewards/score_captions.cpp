// The K x N reward matrix of a step (src/rewards/score_captions.h).
#include "rewards/score_captions.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/fault_points.h"

namespace balcap::rewards {

RewardMatrix score_captions(const std::vector<std::unique_ptr<Objective>>& objectives,
                            const std::vector<ScoredCaption>& captions) {
  RewardMatrix m;
  for (const auto& objective : objectives) {
    auto start = std::chrono::steady_clock::now();
    fault::hit("scoring.objective");  // reliability tests: a kill during scoring
    ObjectiveScores s = objective->score(captions);
    m.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    BALCAP_CHECK(s.score.size() == captions.size() && s.valid.size() == captions.size(),
                 "objective '{}' returned {} scores and {} valid flags for {} captions\n"
                 "HINT: this is a bug in the objective's scorer; please report it",
                 objective->name(), s.score.size(), s.valid.size(), captions.size());
    for (std::size_t i = 0; i < captions.size(); ++i) {
      BALCAP_CHECK(!s.valid[i] || (std::isfinite(s.score[i]) && s.score[i] >= 0 && s.score[i] <= 1),
                   "objective '{}' scored caption {} as {}, outside [0, 1]\n"
                   "HINT: this is a bug in the objective's scorer; please report it",
                   objective->name(), i, s.score[i]);
    }
    m.objectives.push_back(objective->name());
    m.score.push_back(std::move(s.score));
    m.valid.push_back(std::move(s.valid));
  }
  return m;
}

}  // namespace balcap::rewards
