#include "commands.h"
namespace balcap::cli {
void add_tokenize_command(CLI::App& app) { app.add_subcommand("tokenize", "placeholder"); }
}  // namespace balcap::cli
