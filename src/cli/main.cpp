// balcap: the command-line entry point. Parses the subcommand, runs it, and turns every
// failure into one clear line on stderr: exit 2 for usage errors, 1 for everything else.
#include <CLI/CLI.hpp>

#include <iostream>

#include "balcap/core/error.h"
#include "balcap/core/log.h"
#include "commands.h"

namespace {

constexpr const char* kDescription =
    "balcap: RL fine-tuning of multimodal LLMs for image captioning (BalCapRL).\n"
    "Built now: tokenize, preprocess, config check. Not built yet: logits, caption, train, sft,\n"
    "serve (they arrive with the model, sampler and trainer).";

void add_help_command(CLI::App& app) {
  auto* help = app.add_subcommand("help", "Show this help");
  help->callback([&app] { std::cout << app.help(); });
}

}  // namespace

int main(int argc, char** argv) {
  balcap::init_logging();
  CLI::App app{kDescription, "balcap"};
  app.set_version_flag("--version", std::string("balcap ") + BALCAP_VERSION);
  app.require_subcommand(1);
  add_help_command(app);
  balcap::cli::add_tokenize_command(app);
  balcap::cli::add_preprocess_command(app);
  balcap::cli::add_config_command(app);
  try {
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
