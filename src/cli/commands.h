#pragma once
// The `balcap` subcommands. Each lives in its own file (src/cli/<name>.cpp), defines
// add_<name>_command and registers it with BALCAP_COMMAND(order, <name>) after its namespace, so main.cpp
// needs no edit per command (BALCAP_COMMAND(40, caption) calls add_caption_command); `order` sorts
// the help listing. The callback does the work and
// throws balcap::Error (exit 1) or balcap::UsageError (exit 2) on failure.
#include <CLI/CLI.hpp>

#include <vector>

namespace balcap::cli {

using AddCommand = void (*)(CLI::App&);

struct CommandEntry {
  int order;
  AddCommand add;
};

// Every registered command (filled by static initialisers before main runs).
std::vector<CommandEntry>& command_registry();

struct CommandRegistration {
  CommandRegistration(int order, AddCommand add) { command_registry().push_back({order, add}); }
};

}  // namespace balcap::cli

#define BALCAP_COMMAND(order, name)                                          \
  static const ::balcap::cli::CommandRegistration balcap_command_##name((order), \
                                                                       &::balcap::cli::add_##name##_command)
