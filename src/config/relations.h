#pragma once
// Private to src/config: constraints that tie fields together (part of validate.h's checks);
// each message names every key involved.
#include <string>

#include "config/config.h"
#include "diagnostics.h"

namespace balcap::config::detail {

// Constraints between fields (ratios ordered, names that must exist, divisibility).
void check_relations(const Config& config, Diagnostics& diag);

// The bounds' order alone (part of check_relations and of validate_length_mask_into).
void check_length_mask_bounds(const LengthMaskConfig& mask, const std::string& path, Diagnostics& diag);

}  // namespace balcap::config::detail
