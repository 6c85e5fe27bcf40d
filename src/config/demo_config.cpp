// The embedded default (docs/architecture.md §2): configs/demo.yaml, compiled into the binary by CMake
// (src/config/demo_yaml.cpp.in -> embedded_demo_yaml()), is the config `balcap train` runs
// when given none.
#include "config/demo_config.h"

#include "config/load.h"

namespace balcap::config {

Config demo_config(const std::vector<std::string>& overrides) {
  return load_config_text(std::string(embedded_demo_yaml()), "configs/demo.yaml (embedded)", overrides);
}

}  // namespace balcap::config
