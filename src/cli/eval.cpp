// `balcap eval [--config CFG.yaml] [--set a.b=c ...] [--model DIR] [--data EVAL.jsonl|IMAGE_DIR]
//              [--out FILE.json] [--greedy | --samples K] [--no-score] [--no-qa]
//              [--export dcscore,captionqa,caparena] [--export-dir DIR]`
//   caption a held-out set and score it with the configured objectives (src/train/evaluate.h for the
//   numbers): the JSON report on stdout (and in --out), the scorecard table on stderr, benchmark
//   caption files with --export (src/train/eval_export.h, docs/eval.md).
// `balcap eval --compare A B [--top N] [--out FILE.json]`: A and B are eval reports (JSON files) or
//   model directories (evaluated first with the config); prints the side-by-side scorecard and
//   the N captions whose b-CapScore changed most (src/train/eval_compare.h).
#include <iostream>

#include "commands.h"
#include "config/demo_config.h"
#include "config/load.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "train/eval_compare.h"
#include "train/eval_scorecard.h"
#include "train/evaluate.h"

namespace balcap::cli {

namespace {

struct EvalArgs {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string model, data, out, export_dir;
  bool greedy = false, no_score = false, no_qa = false;
  std::int64_t samples = 0, top = 5;
  std::vector<std::string> exports, compare;
};

train::EvalOptions eval_options(const EvalArgs& a) {
  train::EvalOptions options;
  options.model = a.model;
  options.data = a.data;
  options.greedy = a.samples == 0;
  options.samples = a.samples == 0 ? 1 : a.samples;
  options.score = !a.no_score;
  options.qa = !a.no_qa;
  options.exports = train::parse_export_formats(a.exports);
  // The export files go next to the report unless --export-dir says where.
  options.export_dir = !a.export_dir.empty() ? std::filesystem::path(a.export_dir)
                       : !a.out.empty()      ? std::filesystem::path(a.out).parent_path()
                                             : std::filesystem::path(".");
  if (options.export_dir.empty()) options.export_dir = ".";
  return options;
}

// One side of --compare: a report file as it is, or a model directory evaluated now.
nlohmann::json compare_side(const config::Config& cfg, const EvalArgs& a, const std::string& source) {
  if (!std::filesystem::is_directory(source)) {
    BALCAP_CHECK(std::filesystem::exists(source),
                 "--compare {}: no such file or directory. HINT: pass two eval reports (`balcap eval --out`) or two "
                 "model directories.",
                 source);
    return io::read_json_file(source);
  }
  train::EvalOptions options = eval_options(a);
  options.model = source;
  options.exports.clear();
  return train::to_json(train::evaluate(cfg, options));
}

void run_compare(const config::Config& cfg, const EvalArgs& a) {
  const nlohmann::json ja = compare_side(cfg, a, a.compare.at(0));
  const nlohmann::json jb = compare_side(cfg, a, a.compare.at(1));
  const train::EvalComparison c = train::compare_reports(ja, a.compare[0], jb, a.compare[1], a.top);
  if (!a.out.empty()) io::write_file_atomically(a.out, train::to_json(c).dump(2) + "\n");
  std::cout << train::format_comparison(c) << std::flush;
}

void run_eval(const config::Config& cfg, const EvalArgs& a) {
  const train::EvalReport report = train::evaluate(cfg, eval_options(a));
  const nlohmann::json j = train::to_json(report);
  if (!a.out.empty()) io::write_file_atomically(a.out, j.dump(2) + "\n");
  std::cerr << "balcap eval " << report.data << " (" << (report.greedy ? "greedy" : "sampled") << "):\n"
            << train::format_scorecard(train::make_scorecard(report)) << std::flush;
  std::cout << j.dump() << std::endl;
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Caption a held-out set, score it, print its scorecard, export or compare");
  cmd->add_option("--config", a->config_file, "Experiment config (YAML); default: the embedded configs/demo.yaml");
  cmd->add_option("--set", a->overrides, "Override a key: --set a.b=VALUE (VALUE is YAML; repeatable)");
  cmd->add_option("--model", a->model, "Model directory (HF layout); default: model.path");
  cmd->add_option("--data", a->data,
                  "Held-out JSONL, or a folder of images (id = file name without extension); "
                  "default: data.eval");
  cmd->add_option("--out", a->out, "Also write the JSON report (with --compare: the comparison) here, atomically");
  auto* greedy = cmd->add_flag("--greedy", a->greedy, "One greedy caption per image (the default)");
  cmd->add_option("--samples", a->samples, "K sampled captions per image at the sampling.* settings")
      ->excludes(greedy)
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-score", a->no_score, "Caption only: run no judge (scores null), e.g. for a benchmark's images");
  cmd->add_flag("--no-qa", a->no_qa, "Do not score QA accuracy with a judge the config has for other objectives");
  auto* exports = cmd->add_option("--export", a->exports,
                                  "Write the captions for a benchmark's tools: dcscore, captionqa, caparena "
                                  "(repeatable or a comma list; docs/eval.md)");
  cmd->add_option("--export-dir", a->export_dir, "Folder of the --export files; default: the folder of --out, else .");
  cmd->add_option("--compare", a->compare, "Compare two evaluations: A B, each an eval report or a model directory")
      ->expected(2)
      ->excludes(exports);
  cmd->add_option("--top", a->top, "--compare: how many most-changed captions to print (default 5)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([a] {
    const config::Config cfg =
        a->config_file.empty() ? config::demo_config(a->overrides) : config::load_config(a->config_file, a->overrides);
    if (!a->compare.empty()) return run_compare(cfg, *a);
    run_eval(cfg, *a);
  });
}

}  // namespace balcap::cli

BALCAP_COMMAND(95, eval);
