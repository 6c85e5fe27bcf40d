// Harness `config`: the bytes are an experiment YAML. load_config_text parses it (yaml-cpp), reads
// every section through the structs' visit(), and validates fields and their relations, collecting
// every problem into one balcap::Error. A config that loads is then written as the run's resolved
// config (to_yaml, what a checkpoint keeps and a resume re-reads) and loaded again: that must
// succeed and give the same text, or a run could not be resumed from its own config.
#include <stdexcept>

#include "config/load.h"
#include "config/yaml_writer.h"
#include "fuzz_support.h"

namespace balcap::fuzz {

int config(Bytes input) {
  quiet_logs();
  std::string resolved;
  if (!accepted([&] { resolved = config::to_yaml(config::load_config_text(std::string(as_text(input)), "fuzz.yaml")); })) {
    return 0;
  }
  const config::Config reloaded = config::load_config_text(resolved, "resolved config of fuzz.yaml");
  if (config::to_yaml(reloaded) != resolved) {
    throw std::logic_error("fuzz config: the resolved config does not reload to the same text");
  }
  return 0;
}

}  // namespace balcap::fuzz
