// `balcap plot RUN_DIR [RUN_DIR ...] [--out DIR] [--metrics NAME,...] [--format png|svg|both]`: charts of
// metrics.jsonl. One run: RUN_DIR/plots/rewards.png (per-objective raw reward mean) and length.png (caption length
// mean, p90, reference mean), plus NAME.png per --metrics group. Several runs (comparisons, e.g. scripts/ablate): the
// same files in --out, one panel per series and one line per run. --format svg writes .svg files instead, both writes
// each chart as .png then .svg. Prints the written paths, one per line.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "plot/metrics.h"
#include "commands.h"

namespace balcap::cli {
namespace {

struct PlotArgs {
  std::vector<std::string> runs;
  std::string out;
  std::vector<std::string> metrics;
  std::string format = "png";
};

std::vector<plot::ImageFormat> formats_of(const std::string& name) {
  if (name == "svg") return {plot::ImageFormat::kSvg};
  if (name == "both") return {plot::ImageFormat::kPng, plot::ImageFormat::kSvg};
  return {plot::ImageFormat::kPng};
}

void run(const PlotArgs& args) {
  plot::PlotOptions options;
  for (const std::string& r : args.runs) options.runs.emplace_back(r);
  options.out_dir = args.out;
  options.metrics = args.metrics;
  options.formats = formats_of(args.format);
  for (const auto& file : plot::plot_runs(options)) std::cout << file.string() << '\n';
  std::cout << std::flush;
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto args = std::make_shared<PlotArgs>();
  auto* cmd = app.add_subcommand(
      "plot",
      "Render a run's metrics.jsonl as PNG/SVG charts (rewards per objective, caption length); several runs side by "
      "side");
  cmd->add_option("runs", args->runs, "Run directories (with metrics.jsonl) or metrics.jsonl files")->required();
  cmd->add_option("--out", args->out, "Output directory (default RUN_DIR/plots; required for several runs)");
  cmd->add_option("--metrics", args->metrics,
                  "Extra charts, one per name: every metric equal to NAME or under NAME/ (e.g. loss,kl,advantage,time)")
      ->delimiter(',');
  cmd->add_option("--format", args->format, "png (default), svg, or both (each chart as .png and .svg)")
      ->check(CLI::IsMember({"png", "svg", "both"}));
  cmd->callback([args] { run(*args); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(110, plot);
