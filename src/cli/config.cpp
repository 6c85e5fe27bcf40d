#include "commands.h"
namespace balcap::cli {
void add_config_command(CLI::App& app) { app.add_subcommand("config", "placeholder"); }
}  // namespace balcap::cli
