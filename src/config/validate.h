#pragma once
// Validation: every field's Spec (ranges, enums, required values, list sizes), then the
// relations between fields that no single Spec can express (relations.h). All problems are
// collected and reported at once.
#include <string>

#include "config/config.h"

namespace balcap::config {

// Throws balcap::Error listing every violated constraint (no line numbers: no source).
void validate(const Config& config);

}  // namespace balcap::config

// The entry points load.cpp and from_json.cpp share with validate() (inside src/config).
namespace balcap::config::detail {

struct Diagnostics;  // diagnostics.h

// Every field's Spec, then check_relations.
void validate_into(const Config& config, Diagnostics& diag);

// A length-mask section on its own at key path `path` (e.g. "rewards.length_mask"): every field's
// Spec, then the bounds' order (min_ratio < max_ratio, min_tokens <= max_tokens). Which objectives
// exist is the caller's to check.
void validate_length_mask_into(const LengthMaskConfig& mask, const std::string& path, Diagnostics& diag);

}  // namespace balcap::config::detail
