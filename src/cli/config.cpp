// `balcap config check FILE.yaml [--set a.b=c ...]`: validate and print the resolved config.
// `balcap config docs`: the markdown key reference (docs/config.md).
// `balcap config default`: every key at its default, as YAML.
#include "config/config.h"
#include "config/docs.h"
#include "config/load.h"
#include "config/validate.h"
#include "config/yaml_writer.h"

#include <iostream>
#include <string>
#include <vector>

#include "commands.h"

namespace balcap::cli {
namespace {

struct ConfigCheckArgs {
  std::string file;
  std::vector<std::string> overrides;
};

void add_check(CLI::App& config) {
  auto args = std::make_shared<ConfigCheckArgs>();
  auto* check = config.add_subcommand("check", "Validate a config and print it fully resolved as YAML");
  check->add_option("file", args->file, "Experiment config (YAML)")->required();
  check->add_option("--set", args->overrides, "Override a key: --set a.b=VALUE (VALUE is YAML; repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  check->callback([args] {
    balcap::config::Config cfg = balcap::config::load_config(args->file, args->overrides);
    std::cout << balcap::config::to_yaml(cfg);
  });
}

}  // namespace

void add_config_command(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Check experiment configs; print the key reference or the defaults");
  config->require_subcommand(1);
  add_check(*config);
  config->add_subcommand("docs", "Print the config key reference (markdown; docs/config.md)")->callback([] {
    std::cout << balcap::config::config_docs_markdown();
  });
  config->add_subcommand("default", "Print every config key at its default value (YAML)")->callback([] {
    std::cout << "# balcap default config. model.path and data.train have no default: set them.\n"
              << balcap::config::to_yaml(balcap::config::default_config());
  });
}

}  // namespace balcap::cli

BALCAP_COMMAND(5, config);
