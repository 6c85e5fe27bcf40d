#pragma once
// save_config: the resolved config written into the run directory (docs/architecture.md §10).
#include <filesystem>

#include "config/config.h"

namespace balcap::config {

// Writes to_yaml(config) to `file` (e.g. RUN_DIR/config.yaml) through a temporary file and
// a rename, so a reader never sees half a config. Creates parent directories.
void save_config(const Config& config, const std::filesystem::path& file);

}  // namespace balcap::config
