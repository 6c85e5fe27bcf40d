#pragma once
// Config sections given as JSON (e.g. `balcap inspect advantage`'s stdin) read by the same code as
// the YAML config: the section's visit() drives the reading, every field's Spec and the section's
// own relations are checked, and every problem is reported at once in one balcap::Error naming
// `path`.<key> (unknown keys with a did-you-mean, wrong types, out-of-range values).
#include <nlohmann/json.hpp>
#include <string>

#include "config/length_mask.h"

namespace balcap::config {

// `object` (a JSON object; null keeps every default) as a `length_mask` section at key path `path`
// (e.g. "length_mask"); `source` names the input in messages. Defaults are LengthMaskConfig's.
LengthMaskConfig length_mask_from_json(const nlohmann::json& object, const std::string& source,
                                       const std::string& path);

}  // namespace balcap::config
