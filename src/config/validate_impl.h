#pragma once
// Private to src/config: validation entry points shared by load and validate().
#include "config/config.h"
#include "diagnostics.h"

namespace balcap::config::detail {

// Every field's Spec, then check_relations.
void validate_into(const Config& config, Diagnostics& diag);
// Constraints between fields (ratios ordered, names that must exist, divisibility).
void check_relations(const Config& config, Diagnostics& diag);

}  // namespace balcap::config::detail
