#pragma once
// The embedded default (docs/architecture.md §2): configs/demo.yaml compiled into the binary, the
// config `balcap train` runs when given none.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace balcap::config {

// configs/demo.yaml as compiled into the binary (defined in the demo_yaml.cpp CMake generates from
// src/config/demo_yaml.cpp.in), and that config loaded (with overrides): what `balcap train` runs
// when given no --config.
std::string_view embedded_demo_yaml();
Config demo_config(const std::vector<std::string>& overrides = {});

}  // namespace balcap::config
