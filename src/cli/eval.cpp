// `balcap eval [--config CFG.yaml] [--set a.b=c ...] [--model DIR] [--data EVAL.jsonl] [--out FILE.json]
//              [--greedy | --samples K]`: caption a held-out set and score it with the configured
// objectives (src/train/evaluate.h for the numbers).
#include <fstream>
#include <iostream>

#include "config/demo_config.h"
#include "config/load.h"
#include "core/error.h"
#include "train/evaluate.h"
#include "commands.h"
#include "training_args.h"

namespace balcap::cli {

namespace {

struct EvalArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string model, data, out;
  bool greedy = false;
  std::int64_t samples = 0;
};

void write_json(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    BALCAP_CHECK(f.good(), "cannot write {}. HINT: check that its directory exists and is writable.", tmp);
    f << j.dump(2) << "\n";
    BALCAP_CHECK(f.good(), "writing {} failed. HINT: check the free disk space.", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  BALCAP_CHECK(!ec, "cannot rename {} to {}: {}. HINT: check the directory's permissions.", tmp, path, ec.message());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Caption a held-out set and score it with the configured objectives");
  cmd->add_option("--config", a->config_file, "Experiment config (YAML); default: the embedded configs/demo.yaml");
  cmd->add_option("--set", a->overrides, "Override a key: --set a.b=VALUE (VALUE is YAML; repeatable)");
  cmd->add_option("--model", a->model, "Model directory (HF layout); default: model.path");
  cmd->add_option("--data", a->data, "Held-out JSONL; default: data.eval");
  cmd->add_option("--out", a->out, "Also write the JSON report here (written atomically)");
  auto* greedy = cmd->add_flag("--greedy", a->greedy, "One greedy caption per image (the default)");
  cmd->add_option("--samples", a->samples, "K sampled captions per image at the sampling.* settings")
      ->excludes(greedy)
      ->check(CLI::PositiveNumber);
  cmd->callback([a] {
    const config::Config cfg = a->config_file.empty() ? config::demo_config(a->overrides)
                                              : config::load_config(a->config_file, a->overrides);
    train::EvalOptions options;
    options.model = a->model;
    options.data = a->data;
    options.greedy = a->samples == 0;
    options.samples = a->samples == 0 ? 1 : a->samples;
    const nlohmann::json j = train::to_json(train::evaluate(cfg, options));
    if (!a->out.empty()) write_json(a->out, j);
    std::cout << j.dump() << std::endl;
  });
}

}  // namespace balcap::cli

BALCAP_COMMAND(95, eval);
