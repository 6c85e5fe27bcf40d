#pragma once
// to_yaml, config_hash and config_diff: the resolved config as stable text and as a flat
// key -> value view.
#include <string>
#include <vector>

#include "config/config.h"

namespace balcap::config {

// The resolved config as block YAML: every key, in schema order, map entries sorted by
// name, numbers in shortest round-trip form. Same config -> same text (hashable).
std::string to_yaml(const Config& config);

// 16 hex digits (FNV-1a 64 of to_yaml): the config identity stored in checkpoints.
std::string config_hash(const Config& config);

// Key paths whose values differ, e.g. {"optim.lr", "rewards.objectives.coverage"} — for
// "this checkpoint was made with another config" warnings.
std::vector<std::string> config_diff(const Config& a, const Config& b);

}  // namespace balcap::config
