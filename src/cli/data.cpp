// `balcap data synth --out DIR --n N --seed S [--size PX] [--split-eval M]`: synthetic scene
// dataset (PNG images + train.jsonl [+ eval.jsonl]); prints one JSON line with the paths.
// `balcap data check FILE.jsonl [--decode] [--limit K]`: the validation report of a dataset;
// exit 0 when every record is good, 1 otherwise (docs/data.md).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "data/dataset.h"
#include "data/scene_synth.h"
#include "commands.h"

namespace balcap::cli {
namespace {

struct SynthArgs {
  std::string out;
  std::int64_t n = 0;
  std::uint64_t seed = 0;
  int size = 84;
  std::int64_t eval = 0;
};

struct DataCheckArgs {
  std::string file;
  bool decode = false;
  std::size_t limit = 0;
};

void run_synth(const SynthArgs& a) {
  data::SynthOptions o{a.out, a.n, a.seed, a.size, a.eval};
  auto result = data::synth_dataset(o);
  nlohmann::json line = {{"train", result.train.string()}, {"records", a.n}, {"size", a.size}, {"seed", a.seed}};
  if (a.eval > 0) {
    line["eval"] = result.eval.string();
    line["eval_records"] = a.eval;
  }
  std::cout << line.dump() << "\n";
}

void run_check(const DataCheckArgs& a) {
  data::LoadOptions options;
  options.decode_images = a.decode;
  auto ds = data::read_dataset(a.file, options);
  std::cout << data::validation_report(ds, a.limit);
  BALCAP_CHECK(ds.bad.empty(),
               "data check: {} of {} records in {} are bad (listed above). HINT: fix them, or train "
               "with data.on_bad_record: skip",
               ds.bad.size(), ds.lines_read, a.file);
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "Dataset tools: synthesise scenes, check a JSONL dataset");
  cmd->require_subcommand(1);

  auto synth = std::make_shared<SynthArgs>();
  auto* s = cmd->add_subcommand("synth", "Render synthetic scenes (PNG) and write train.jsonl [+ eval.jsonl]");
  s->add_option("--out", synth->out, "Output directory (created)")->required();
  s->add_option("--n", synth->n, "Training records")->required();
  s->add_option("--seed", synth->seed, "Seed (same seed -> byte-identical files)")->required();
  s->add_option("--size", synth->size, "Image side in pixels (default 84 = 3 x 28)");
  s->add_option("--split-eval", synth->eval, "Also write M held-out records to eval.jsonl");
  s->callback([synth] { run_synth(*synth); });

  auto check = std::make_shared<DataCheckArgs>();
  auto* c = cmd->add_subcommand("check", "Validate a JSONL dataset and print the report with line numbers");
  c->add_option("file", check->file, "The JSONL file")->required();
  c->add_flag("--decode", check->decode, "Decode every image fully (default: check headers only)");
  c->add_option("--limit", check->limit, "Show at most K bad records (0 = all)");
  c->callback([check] { run_check(*check); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(70, data);
