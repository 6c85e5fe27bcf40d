// balcap: the command-line entry point. Parses the subcommand, runs it, and turns every
// failure into one clear line on stderr: exit 2 for usage errors, 1 for everything else.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>

#include "core/allocator.h"
#include "core/error.h"
#include "core/fault_points.h"
#include "core/log.h"
#include "commands.h"

namespace balcap::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

}  // namespace balcap::cli

namespace {

constexpr const char* kDescription =
    "balcap: RL fine-tuning of multimodal LLMs for image captioning (BalCapRL).\n"
    "Start with scripts/demo.sh (SFT then BalCapRL on synthetic scenes; docs/demo.md).\n"
    "Many processes: scripts/launch --nproc N balcap train ... or torchrun --no-python (docs/distributed.md).";

// `balcap help`: the top-level help (app.help() would render the selected subcommand's).
void add_help_command(CLI::App& app) {
  auto* help = app.add_subcommand("help", "Show this help");
  help->callback([&app] { std::cout << app.get_formatter()->make_help(&app, "balcap", CLI::AppFormatMode::Normal); });
}

// Names an unknown subcommand or option before CLI11 parses: CLI11 2.1 reports a missing
// required option first, which hides the real mistake (a typo in a flag).
void check_known_words(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--") return;
    if (word.rfind("-", 0) != 0) {
      auto subs = current->get_subcommands([&word](CLI::App* a) { return a->check_name(word); });
      if (!subs.empty()) {
        current = subs.front();
      } else if (current == &app) {
        balcap::usage_fail("unknown command '{}'. HINT: run 'balcap help' for the list of commands", word);
      }
      continue;
    }
    std::string name = word.substr(0, word.find('='));
    const CLI::Option* option = current->get_option_no_throw(name);
    for (CLI::App* parent = current->get_parent(); !option && parent; parent = parent->get_parent()) {
      option = parent->get_option_no_throw(name);
    }
    if (!option) {
      std::string where = current == &app ? "balcap" : "balcap " + current->get_name();
      balcap::usage_fail("unknown option '{}' for '{}'. HINT: run '{} --help'", name, where, where);
    }
    if (word.find('=') == std::string::npos && option->get_expected_min() > 0) ++i;  // skip its value
  }
}

}  // namespace

int main(int argc, char** argv) {
  balcap::tune_host_allocator();
  balcap::init_logging();
  CLI::App app{kDescription, "balcap"};
  app.set_version_flag("--version", std::string("balcap ") + BALCAP_VERSION);
  app.require_subcommand(1);
  add_help_command(app);
  auto commands = balcap::cli::command_registry();
  std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& command : commands) command.add(app);
  try {
    balcap::fault::check_armed_points();  // a test run's BALCAP_FAULTS: wrong before anything loads
    check_known_words(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "balcap: usage error: " << e.what() << "\nHINT: run 'balcap help' or 'balcap <command> --help'\n";
    return 2;
  } catch (const balcap::UsageError& e) {
    std::cerr << "balcap: usage error: " << e.what() << "\n";
    return 2;
  } catch (const balcap::Error& e) {
    std::cerr << "balcap: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "balcap: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
