#pragma once
// `balcap plot`: metrics.jsonl of one or more runs -> PNG (and/or SVG) line charts (docs/plots.md).
//
//   one run:   RUN/plots/rewards.png  every reward/<objective>/mean against step, one line each
//              RUN/plots/length.png   caption/length_mean, caption/length_p90 and
//                                     caption/reference_length_mean (those logged)
//              RUN/plots/<name>.png   per --metrics name: every key equal to it or under "<name>/"
//   several:   the same files in OUT, one panel per series and one line per run (legend: run names)
//   formats:   .png by default; .svg instead or as well (PlotOptions::formats, `--format png|svg|both`)
//
// Rows may be flat ("reward/coverage/mean": 0.5) or nested ({"reward": {"coverage": {"mean": 0.5}}}):
// nested objects are flattened with "/". null (NaN/Inf as written by MetricsWriter) leaves a gap.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plot/chart.h"
#include "plot/render.h"

namespace balcap::plot {

// One run's numeric series, aligned on its steps (ascending; a repeated step keeps its last row).
struct MetricsTable {
  std::filesystem::path file;
  std::string run_name;
  std::vector<double> steps;
  std::map<std::string, std::vector<double>> columns;  // key -> value per step, NaN where absent
};

// Numeric leaves of `row` under "/"-joined keys (booleans, strings and arrays are skipped; null -> NaN).
void flatten_metrics(const nlohmann::json& row, const std::string& prefix, std::map<std::string, double>& out);

// Reads RUN_DIR/metrics.jsonl (or the file itself). A last line without '\n' that does not parse (being written now) is
// skipped; any other bad line, a row without a numeric "step", a missing or empty file -> balcap::Error naming the file
// (and line) with a HINT.
MetricsTable read_metrics_table(const std::filesystem::path& run_dir_or_file, const std::string& run_name);

// A chart's series: the legend label and metrics key of each.
struct MetricGroup {
  std::string file_stem, title, y_label;
  std::vector<std::pair<std::string, std::string>> members;  // (label, key)
};

MetricGroup reward_group(const std::vector<MetricsTable>& runs);
MetricGroup length_group(const std::vector<MetricsTable>& runs);
// Keys equal to `name` or starting with "name/"; the file stem is `name` with '/' as '_'.
MetricGroup named_group(const std::vector<MetricsTable>& runs, const std::string& name);

// One run: one panel, a line per member. Several: a panel per member, a line per run.
Figure group_figure(const MetricGroup& group, const std::vector<MetricsTable>& runs);

struct PlotOptions {
  std::vector<std::filesystem::path> runs;  // run directories (or metrics.jsonl files)
  std::filesystem::path out_dir;            // empty: RUN/plots (one run only)
  std::vector<std::string> metrics;         // extra groups (--metrics)
  std::vector<ImageFormat> formats = {ImageFormat::kPng};  // each chart is written once per format, in this order
};

// Writes the charts and returns their paths (per chart, one file per format). Errors: see read_metrics_table; no run, several runs without out_dir ->
// UsageError; nothing to plot, a --metrics name matching no key -> Error listing the available keys.
std::vector<std::filesystem::path> plot_runs(const PlotOptions& options);

}  // namespace balcap::plot
