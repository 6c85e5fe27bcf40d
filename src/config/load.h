#pragma once
// Loading: YAML file or text -> Config, then --set overrides, then validation (validate.h); every
// problem of all three stages is reported together.
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"

namespace balcap::config {

// Reads FILE, applies each override ("a.b.c=VALUE", VALUE read as YAML: `[1,2]`, `{r: 8}`),
// then validates. Every problem found (unknown key, wrong type, out-of-range value, bad
// enum) is reported at once in one balcap::Error naming key paths and file lines.
Config load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// The same from YAML text; `source` names it in messages (e.g. a checkpoint's config snapshot).
Config load_config_text(const std::string& yaml, const std::string& source,
                        const std::vector<std::string>& overrides = {});

}  // namespace balcap::config
