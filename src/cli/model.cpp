// `balcap model init (--template DIR | --family qwen2_5_vl|llava) [--tokenizer DIR] --out DIR [--seed S]`
// Writes a new Qwen2.5-VL or LLaVA-1.5 with random weights (transformers' initialisation: normal(0,
// initializer_range), zero biases, unit norms) as a transformers model directory, from a template
// holding config.json and the processor/tokenizer companions. `--family` picks the repository's tiny
// template (configs/models/tiny_qwen2_5_vl, the demo's policy, or configs/models/tiny_llava_1_5) and
// its tokenizer (tests/data/tokenizers/qwen or llama2), paths relative to the repository root.
// Prints one JSON line: {"out", "family", "parameters", "seed"}.
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/model_family.h"
#include "models/load_policy.h"
#include "models/model_init.h"
#include "commands.h"

namespace balcap::cli {
namespace {

struct ModelInitArgs {
  std::string template_dir, family, tokenizer, out;
  uint64_t seed = 0;
};

// --family's defaults: the repository's tiny template and the tokenizer it was made for.
void apply_family_defaults(ModelInitArgs& args) {
  if (args.family.empty()) {
    if (args.template_dir.empty()) usage_fail("model init: pass --template DIR or --family qwen2_5_vl|llava");
    if (args.tokenizer.empty()) usage_fail("model init: pass --tokenizer DIR (with tokenizer.json) with --template");
    return;
  }
  const bool llava = args.family == "llava";
  if (!llava && args.family != "qwen2_5_vl") {
    usage_fail("model init: --family '{}' is not one of qwen2_5_vl, llava", args.family);
  }
  if (args.template_dir.empty()) args.template_dir = llava ? "configs/models/tiny_llava_1_5" : "configs/models/tiny_qwen2_5_vl";
  if (args.tokenizer.empty()) args.tokenizer = llava ? "tests/data/tokenizers/llama2" : "tests/data/tokenizers/qwen";
}

void run_init(ModelInitArgs args) {
  apply_family_defaults(args);
  models::init_model(args.template_dir, args.tokenizer, args.out, args.seed);
  // Read back through the loader: what was written is a model balcap (and transformers) load.
  const auto policy = models::load_policy(args.out);
  int64_t parameters = 0;
  for (const auto& p : policy->module().parameters()) parameters += p.numel();
  std::cout << nlohmann::json{{"out", args.out}, {"family", io::to_string(io::detect_family(args.out))},
                              {"parameters", parameters}, {"seed", args.seed}}
                   .dump()
            << "\n";
}

}  // namespace

void add_model_command(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Create model directories (init: random weights from a config template)");
  model->require_subcommand(1);
  auto args = std::make_shared<ModelInitArgs>();
  auto* init = model->add_subcommand(
      "init", "Write a Qwen2.5-VL or LLaVA-1.5 with random weights as a transformers model directory");
  init->add_option("--template", args->template_dir,
                   "Directory with config.json (+ generation/preprocessor/chat template files), "
                   "e.g. configs/models/tiny_qwen2_5_vl or configs/models/tiny_llava_1_5");
  init->add_option("--family", args->family,
                   "qwen2_5_vl or llava: the repository's tiny template and tokenizer (run from the repository root)");
  init->add_option("--tokenizer", args->tokenizer, "Directory with tokenizer.json or tokenizer.json.gz");
  init->add_option("--out", args->out, "Output model directory")->required();
  init->add_option("--seed", args->seed, "Initialisation seed (default 0)");
  init->callback([args] { run_init(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(35, model);
