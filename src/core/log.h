#pragma once
// Logging: spdlog to stderr (stdout is reserved for command output such as JSON lines).
#include <spdlog/spdlog.h>

namespace balcap {

// Sets up the default logger once: stderr, "[balcap] level: message", level from
// BALCAP_LOG_LEVEL (trace|debug|info|warn|error|off; default info).
void init_logging();

}  // namespace balcap
