#pragma once
// Validation: every field's Spec (ranges, enums, required values, list sizes), then the
// relations between fields that no single Spec can express (relations.h). All problems are
// collected and reported at once.
#include "config/config.h"

namespace balcap::config {

// Throws balcap::Error listing every violated constraint (no line numbers: no source).
void validate(const Config& config);

}  // namespace balcap::config

// The entry point load.cpp shares with validate() (inside src/config).
namespace balcap::config::detail {

struct Diagnostics;  // diagnostics.h

// Every field's Spec, then check_relations.
void validate_into(const Config& config, Diagnostics& diag);

}  // namespace balcap::config::detail
