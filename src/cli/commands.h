#pragma once
// The `balcap` subcommands. Each lives in its own file (src/cli/<name>.cpp) and registers
// itself on the app with add_<name>_command; its callback does the work and throws
// balcap::Error (exit 1) or balcap::UsageError (exit 2) on failure.
#include <CLI/CLI.hpp>

namespace balcap::cli {

void add_tokenize_command(CLI::App& app);
void add_preprocess_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_logits_command(CLI::App& app);

}  // namespace balcap::cli
