#pragma once
// rewards.objectives + rewards.judges -> the Objective implementations of a run. Each judge is
// created once per name and shared by the objectives that name it (a local judge loads once).
//   judge kind lexical -> lexical_objectives.h        kind scene  -> make_scene_objective
//   judge kind local   -> make_local_judge + scorer   kind remote -> make_remote_judge + scorer
// Scorers: claim_precision, claim_recall, qa_accuracy, judge_rating (one file each). With
// rewards.log_judge_calls set, every judge is wrapped by the call log, which also answers requests
// already in that file from an earlier (interrupted) run without asking the judge again.
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "config/rewards.h"
#include "rewards/objective.h"

namespace balcap::rewards {

// In the order of rewards.objectives (sorted by name). policy_device: where `device: auto`
// puts a local judge. Throws balcap::Error naming the config key on an impossible combination
// (qa_accuracy on the lexical judge, evidence image on a text-only judge, an unknown judge).
std::vector<std::unique_ptr<Objective>> build_objectives(const config::RewardsConfig& rewards,
                                                         at::Device policy_device);

// Judge requests answered from rewards.log_judge_calls's earlier lines instead of the judge, in this
// process so far (a resumed run's redone steps; for the metrics row: judge/replayed_calls).
std::int64_t replayed_judge_requests();

}  // namespace balcap::rewards
