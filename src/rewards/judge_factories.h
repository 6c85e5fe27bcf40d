#pragma once
// Private to src/rewards: Where each kind of judge/objective comes from (rewards/build_objectives.cpp wires them by
// config): one factory per kind, each implemented in its own file.
#include <memory>
#include <string>

#include <ATen/ATen.h>

#include "config/judge.h"
#include "config/rewards.h"
#include "rewards/judge.h"
#include "rewards/objective.h"

namespace balcap::rewards {

// `kind: remote` — an OpenAI-compatible endpoint (rewards/remote_judge.cpp).
std::unique_ptr<Judge> make_remote_judge(const std::string& name, const config::JudgeConfig& config);

// `kind: local` — a checkpoint loaded in-process with balcap's own models (rewards/local_judge.cpp).
// `policy_device`: where `device: auto` puts it.
std::unique_ptr<Judge> make_local_judge(const std::string& name, const config::JudgeConfig& config,
                                        at::Device policy_device);

// `judge: scene` — exact scoring against a synthetic record's scene (rewards/scene_objectives.cpp).
// objective_name is the key in rewards.objectives; the scorer decides what is measured.
std::unique_ptr<Objective> make_scene_objective(const std::string& objective_name,
                                                const config::ObjectiveConfig& objective,
                                                const config::RewardsConfig& rewards);

}  // namespace balcap::rewards
