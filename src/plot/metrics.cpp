// metrics.jsonl -> tables -> figures -> PNG/SVG files; see src/plot/metrics.h.
#include "plot/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/log.h"

namespace balcap::plot {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kRowHint =
    "HINT: metrics.jsonl holds one JSON object per line with a numeric \"step\", as `balcap train` and `balcap sft` "
    "write it; fix or delete the line";

fs::path metrics_file(const fs::path& run) {
  std::error_code ec;  // the error_code overloads: a permission problem is an Error, not an exception
  BALCAP_CHECK(fs::exists(run, ec), "plot: {} does not exist\nHINT: pass the run directory (train.run_dir) of a run",
               run.string());
  const fs::path file = fs::is_directory(run, ec) ? run / "metrics.jsonl" : run;
  BALCAP_CHECK(fs::is_regular_file(file, ec),
               "plot: {} not found\nHINT: pass a run directory written by `balcap train` or `balcap sft` "
               "(they write metrics.jsonl after their first step)",
               file.string());
  return file;
}

// Parses one line into (step, flattened values); `where` is "FILE line N".
std::pair<double, std::map<std::string, double>> parse_row(const std::string& line, const std::string& where) {
  nlohmann::json row;
  try {
    row = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    fail("plot: {}: not valid JSON ({})\n{}", where, e.what(), kRowHint);
  }
  BALCAP_CHECK(row.is_object(), "plot: {}: a JSON {} instead of an object\n{}", where, row.type_name(), kRowHint);
  BALCAP_CHECK(row.contains("step") && row["step"].is_number(), "plot: {}: no numeric \"step\" field\n{}", where,
               kRowHint);
  std::map<std::string, double> values;
  flatten_metrics(row, "", values);
  values.erase("step");
  return {row["step"].get<double>(), std::move(values)};
}

std::vector<std::string> available_keys(const std::vector<MetricsTable>& runs) {
  std::set<std::string> keys;
  for (const MetricsTable& t : runs) {
    for (const auto& [key, values] : t.columns) keys.insert(key);
  }
  return {keys.begin(), keys.end()};
}

std::string keys_hint(const std::vector<MetricsTable>& runs) {
  const auto keys = available_keys(runs);
  std::string list;
  for (size_t i = 0; i < keys.size() && i < 40; ++i) list += (i ? ", " : "") + keys[i];
  if (keys.size() > 40) list += fmt::format(", ... ({} in all)", keys.size());
  return fmt::format("HINT: pick groups with --metrics NAME,... (a key or the part before a '/'); logged: {}",
                     keys.empty() ? std::string("nothing numeric") : list);
}

// "FILE" or "FILE1, FILE2 ..." for error messages.
std::string files_of(const std::vector<MetricsTable>& runs) {
  std::string s;
  for (const MetricsTable& t : runs) s += (s.empty() ? "" : ", ") + t.file.string();
  return s;
}

bool has_key(const std::vector<MetricsTable>& runs, const std::string& key) {
  return std::any_of(runs.begin(), runs.end(), [&](const MetricsTable& t) { return t.columns.count(key) > 0; });
}

// Legend names of the runs: their directory names, or the paths as given when two names collide.
std::vector<std::string> run_names(const std::vector<fs::path>& runs) {
  std::vector<std::string> names;
  for (const fs::path& r : runs) {
    std::error_code ec;
    fs::path dir = fs::is_directory(r, ec) ? r : r.parent_path();
    // "runs/demo/", "." and ".." name the directory they resolve to.
    const fs::path resolved = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    if (!ec && !resolved.filename().empty()) dir = resolved;
    names.push_back(dir.filename().empty() ? r.string() : dir.filename().string());
  }
  const std::set<std::string> distinct(names.begin(), names.end());
  if (distinct.size() != names.size()) {
    for (size_t i = 0; i < runs.size(); ++i) names[i] = runs[i].lexically_normal().string();
  }
  return names;
}

std::string file_stem_of(const std::string& name) {
  std::string stem = name;
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return stem;
}

// The chart of `group` in each requested format: OUT/<stem>.png, OUT/<stem>.svg.
void write_group(const MetricGroup& group, const std::vector<MetricsTable>& runs, const PlotOptions& o,
                 const fs::path& out, std::vector<fs::path>& written) {
  const Figure figure = group_figure(group, runs);
  for (ImageFormat format : o.formats) {
    const fs::path file = out / (group.file_stem + file_extension(format));
    write_figure(figure, file, format);
    written.push_back(file);
  }
}

}  // namespace

void flatten_metrics(const nlohmann::json& row, const std::string& prefix, std::map<std::string, double>& out) {
  for (const auto& [key, value] : row.items()) {
    const std::string name = prefix.empty() ? key : prefix + "/" + key;
    if (value.is_object()) {
      flatten_metrics(value, name, out);
    } else if (value.is_number()) {
      out[name] = value.get<double>();
    } else if (value.is_null()) {
      out[name] = kNaN;  // MetricsWriter writes NaN/Inf as null
    }
  }
}

MetricsTable read_metrics_table(const fs::path& run_dir_or_file, const std::string& run_name) {
  MetricsTable t;
  t.file = metrics_file(run_dir_or_file);
  t.run_name = run_name;
  std::ifstream in(t.file, std::ios::binary);
  BALCAP_CHECK(in, "plot: cannot read {}\nHINT: check its permissions", t.file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  std::map<double, std::map<std::string, double>> rows;  // by step; a repeated step: the last row wins
  size_t start = 0;
  for (int line_no = 1; start < all.size(); ++line_no) {
    const size_t nl = all.find('\n', start);
    std::string line = all.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? all.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = fmt::format("{} line {}", t.file.string(), line_no);
    if (nl == std::string::npos && !nlohmann::json::accept(line)) {
      spdlog::warn("plot: {}: incomplete last line skipped (the run is still writing it)", where);
      break;
    }
    auto [step, values] = parse_row(line, where);
    rows[step] = std::move(values);
  }
  BALCAP_CHECK(!rows.empty(), "plot: {} has no rows\nHINT: the run has not logged its first step yet; plot it later",
               t.file.string());
  for (const auto& [step, values] : rows) {
    const size_t i = t.steps.size();
    t.steps.push_back(step);
    for (const auto& [key, v] : values) {
      auto& column = t.columns.try_emplace(key, std::vector<double>()).first->second;
      column.resize(i, kNaN);
      column.push_back(v);
    }
  }
  for (auto& [key, column] : t.columns) column.resize(t.steps.size(), kNaN);
  // Keys that never held a finite number (always null) have nothing to draw.
  std::erase_if(t.columns, [](const auto& kv) {
    return std::none_of(kv.second.begin(), kv.second.end(), [](double v) { return std::isfinite(v); });
  });
  return t;
}

MetricGroup reward_group(const std::vector<MetricsTable>& runs) {
  MetricGroup g{"rewards", "Reward per objective (raw mean)", "reward", {}};
  for (const std::string& key : available_keys(runs)) {
    // reward/<objective>/mean, the objective's raw score averaged over the step's captions.
    if (key.starts_with("reward/") && key.ends_with("/mean") && key.size() > 12) {
      g.members.emplace_back(key.substr(7, key.size() - 12), key);
    }
  }
  return g;
}

MetricGroup length_group(const std::vector<MetricsTable>& runs) {
  MetricGroup g{"length", "Caption length (tokens)", "tokens", {}};
  for (const auto& [label, key] :
       std::vector<std::pair<std::string, std::string>>{{"mean", "caption/length_mean"},
                                                        {"p90", "caption/length_p90"},
                                                        {"reference mean", "caption/reference_length_mean"}}) {
    if (has_key(runs, key)) g.members.emplace_back(label, key);
  }
  return g;
}

MetricGroup named_group(const std::vector<MetricsTable>& runs, const std::string& name) {
  MetricGroup g{file_stem_of(name), name, "", {}};
  for (const std::string& key : available_keys(runs)) {
    if (key == name || key.starts_with(name + "/")) g.members.emplace_back(key, key);
  }
  return g;
}

Figure group_figure(const MetricGroup& group, const std::vector<MetricsTable>& runs) {
  Figure f;
  auto series = [](const MetricsTable& t, const std::string& key, const std::string& label) {
    const auto it = t.columns.find(key);
    return Series{label, t.steps, it == t.columns.end() ? std::vector<double>(t.steps.size(), kNaN) : it->second};
  };
  if (runs.size() == 1) {
    f.title = group.title + " - " + runs[0].run_name;
    Panel p{"", "step", group.y_label, {}};
    for (const auto& [label, key] : group.members) p.series.push_back(series(runs[0], key, label));
    f.panels.push_back(std::move(p));
    return f;
  }
  f.title = group.title;
  f.columns = 3;
  f.panel_width = 520;
  f.panel_height = 340;
  for (const auto& [label, key] : group.members) {
    Panel p{label, "step", group.y_label, {}};
    for (const MetricsTable& t : runs) {
      if (t.columns.count(key)) p.series.push_back(series(t, key, t.run_name));
    }
    f.panels.push_back(std::move(p));
  }
  return f;
}

std::vector<fs::path> plot_runs(const PlotOptions& o) {
  if (o.runs.empty()) usage_fail("plot: no run directory given\nHINT: balcap plot RUN_DIR [RUN_DIR ...] [--out DIR]");
  if (o.runs.size() > 1 && o.out_dir.empty()) {
    usage_fail(
        "plot: {} runs but no --out\nHINT: comparisons need an output directory: balcap plot RUN1 RUN2 --out DIR",
        o.runs.size());
  }
  if (o.formats.empty()) usage_fail("plot: no output format\nHINT: --format png, svg or both");
  const std::vector<std::string> names = run_names(o.runs);
  std::vector<MetricsTable> runs;
  for (size_t i = 0; i < o.runs.size(); ++i) runs.push_back(read_metrics_table(o.runs[i], names[i]));
  std::vector<MetricGroup> groups;
  for (MetricGroup g : {reward_group(runs), length_group(runs)}) {
    if (g.members.empty()) {
      spdlog::info("plot: no {} series logged; no {} chart written", g.file_stem, g.file_stem);
    } else {
      groups.push_back(std::move(g));
    }
  }
  BALCAP_CHECK(!groups.empty() || !o.metrics.empty(),
               "plot: no per-objective reward (reward/*/mean) or caption length (caption/length_*) series in {}\n{}",
               files_of(runs), keys_hint(runs));
  for (const std::string& name : o.metrics) {
    MetricGroup g = named_group(runs, name);
    BALCAP_CHECK(!g.members.empty(), "plot: --metrics '{}' matches no numeric series in {}\n{}", name, files_of(runs),
                 keys_hint(runs));
    groups.push_back(std::move(g));
  }
  const fs::path out = o.out_dir.empty() ? runs[0].file.parent_path() / "plots" : o.out_dir;
  std::error_code ec;
  fs::create_directories(out, ec);
  BALCAP_CHECK(!ec, "plot: cannot create {} ({})\nHINT: choose a writable --out directory", out.string(), ec.message());
  std::vector<fs::path> written;
  for (const MetricGroup& g : groups) write_group(g, runs, o, out, written);
  return written;
}

}  // namespace balcap::plot
