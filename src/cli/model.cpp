// `balcap model init --template DIR --tokenizer DIR --out DIR [--seed S]`
// Writes a new Qwen2.5-VL with random weights (transformers' initialisation: normal(0,
// initializer_range), zero biases, unit norms) as a transformers model directory, from a template
// holding config.json and the processor/tokenizer companions (configs/models/tiny_qwen2_5_vl is the
// demo's tiny policy). Prints one JSON line: {"out", "parameters", "seed"}.
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/model_init.h"
#include "models/qwen2_5_vl_weights.h"
#include "commands.h"

namespace balcap::cli {
namespace {

struct ModelInitArgs {
  std::string template_dir, tokenizer, out;
  uint64_t seed = 0;
};

void run_init(const ModelInitArgs& args) {
  models::init_qwen2_5_vl_model(args.template_dir, args.tokenizer, args.out, args.seed);
  // Read back through the loader: what was written is a model balcap (and transformers) load.
  const auto checkpoint = models::load_qwen2_5_vl(args.out);
  int64_t parameters = 0;
  for (const auto& p : checkpoint.model->parameters()) parameters += p.numel();
  std::cout << nlohmann::json{{"out", args.out}, {"parameters", parameters}, {"seed", args.seed}}.dump() << "\n";
}

}  // namespace

void add_model_command(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Create model directories (init: random weights from a config template)");
  model->require_subcommand(1);
  auto args = std::make_shared<ModelInitArgs>();
  auto* init = model->add_subcommand("init", "Write a Qwen2.5-VL with random weights as a transformers model directory");
  init->add_option("--template", args->template_dir,
                   "Directory with config.json (+ generation/preprocessor/chat template files), "
                   "e.g. configs/models/tiny_qwen2_5_vl")
      ->required();
  init->add_option("--tokenizer", args->tokenizer, "Directory with tokenizer.json or tokenizer.json.gz")->required();
  init->add_option("--out", args->out, "Output model directory")->required();
  init->add_option("--seed", args->seed, "Initialisation seed (default 0)");
  init->callback([args] { run_init(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(35, model);
