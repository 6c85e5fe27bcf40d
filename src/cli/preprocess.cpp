#include "commands.h"
namespace balcap::cli {
void add_preprocess_command(CLI::App& app) { app.add_subcommand("preprocess", "placeholder"); }
}  // namespace balcap::cli
