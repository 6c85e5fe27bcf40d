// `balcap plot`'s input side: metrics.jsonl rows (flat or nested) become aligned series, the
// reward/length/named groups pick the right keys, runs become figures and PNG (or SVG) files, and
// bad input fails naming the file and line with a HINT.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "plot/metrics.h"
#include "vision/image.h"
#include "support/test_support.h"

namespace balcap::plot {
namespace {

namespace fs = std::filesystem;

// Three RL steps as `balcap train` writes them (flat keys), the middle coverage value NaN (null).
const char* kRlRows =
    R"({"caption/length_mean":30.5,"caption/length_p90":41,"caption/reference_length_mean":28,"loss":0.5,)"
    R"("reward/correctness/mean":0.4,"reward/correctness/std":0.1,"reward/coverage/mean":0.3,"step":1})"
    "\n"
    R"({"caption/length_mean":31.5,"caption/length_p90":43,"caption/reference_length_mean":28,"loss":0.4,)"
    R"("reward/correctness/mean":0.5,"reward/correctness/std":0.1,"reward/coverage/mean":null,"step":2})"
    "\n"
    R"({"caption/length_mean":29.0,"caption/length_p90":40,"caption/reference_length_mean":28,"loss":0.3,)"
    R"("reward/correctness/mean":0.6,"reward/correctness/std":0.1,"reward/coverage/mean":0.5,"step":3})"
    "\n";

fs::path write_run(const fs::path& dir, const std::string& rows) {
  fs::create_directories(dir);
  test::write_file(dir / "metrics.jsonl", rows);
  return dir;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PlotMetrics, NestedObjectsFlattenWithSlashesAndNonNumbersAreSkipped) {
  std::map<std::string, double> out;
  flatten_metrics(nlohmann::json::parse(R"({"step":4,"reward":{"coverage":{"mean":0.25}},"lr":1e-6,)"
                                        R"("note":"x","ok":true,"list":[1,2],"kl":null})"),
                  "", out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out.at("reward/coverage/mean"), 0.25);
  EXPECT_EQ(out.at("lr"), 1e-6);
  EXPECT_EQ(out.at("step"), 4);
  EXPECT_TRUE(std::isnan(out.at("kl")));
}

TEST(PlotMetrics, RowsAreSortedByStepAlignedAndARepeatedStepKeepsItsLastRow) {
  const auto run = write_run(test::scratch_dir(), "{\"step\": 3, \"a\": 30}\n"
                                                  "\n"
                                                  "{\"step\": 1, \"a\": 10, \"b\": {\"c\": 1}}\r\n"
                                                  "{\"step\": 2, \"b\": {\"c\": 2}}\n"
                                                  "{\"step\": 3, \"a\": 33}\n");
  const MetricsTable t = read_metrics_table(run, "r");
  EXPECT_EQ(t.steps, (std::vector<double>{1, 2, 3}));
  ASSERT_EQ(t.columns.size(), 2u);
  const auto& a = t.columns.at("a");
  EXPECT_EQ(a[0], 10);
  EXPECT_TRUE(std::isnan(a[1]));
  EXPECT_EQ(a[2], 33);
  const auto& bc = t.columns.at("b/c");
  EXPECT_EQ(bc[1], 2);
  EXPECT_TRUE(std::isnan(bc[2]));
}

TEST(PlotMetrics, ALastLineStillBeingWrittenIsSkipped) {
  const auto run = write_run(test::scratch_dir(), "{\"step\": 1, \"a\": 1}\n{\"step\": 2, \"a\": 2}\n{\"step\": 3, \"a");
  EXPECT_EQ(read_metrics_table(run, "r").steps, (std::vector<double>{1, 2}));
}

TEST(PlotMetrics, BadJsonLineNamesTheFileAndLineWithAHint) {
  const auto run = write_run(test::scratch_dir(), "{\"step\": 1, \"a\": 1}\n{\"step\": 2, \"a\": }\n{\"step\": 3}\n");
  const std::string e = error_of([&] { read_metrics_table(run, "r"); });
  EXPECT_NE(e.find((run / "metrics.jsonl").string() + " line 2: not valid JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("HINT:"), std::string::npos) << e;
}

TEST(PlotMetrics, RowsWithoutAStepOrNotObjectsAreRefused) {
  const auto dir = test::scratch_dir();
  const auto no_step = write_run(dir / "a", "{\"step\": 1}\n{\"loss\": 2}\n");
  EXPECT_NE(error_of([&] { read_metrics_table(no_step, "r"); }).find("line 2: no numeric \"step\""), std::string::npos);
  const auto text_step = write_run(dir / "b", "{\"step\": \"1\"}\n");
  EXPECT_NE(error_of([&] { read_metrics_table(text_step, "r"); }).find("line 1: no numeric \"step\""),
            std::string::npos);
  const auto array = write_run(dir / "c", "[1, 2]\n");
  EXPECT_NE(error_of([&] { read_metrics_table(array, "r"); }).find("line 1: a JSON array instead of an object"),
            std::string::npos);
}

TEST(PlotMetrics, MissingAndEmptyFilesAreNamed) {
  const auto dir = test::scratch_dir();
  fs::create_directories(dir / "no_metrics");
  std::string e = error_of([&] { read_metrics_table(dir / "no_metrics", "r"); });
  EXPECT_NE(e.find((dir / "no_metrics" / "metrics.jsonl").string() + " not found"), std::string::npos) << e;
  EXPECT_NE(e.find("HINT:"), std::string::npos);
  e = error_of([&] { read_metrics_table(dir / "nowhere", "r"); });
  EXPECT_NE(e.find((dir / "nowhere").string() + " does not exist"), std::string::npos) << e;
  const auto empty = write_run(dir / "empty", "\n");
  e = error_of([&] { read_metrics_table(empty, "r"); });
  EXPECT_NE(e.find("has no rows"), std::string::npos) << e;
}

TEST(PlotMetrics, GroupsPickRewardMeansLengthsAndNamedPrefixes) {
  const auto run = write_run(test::scratch_dir(), kRlRows);
  const std::vector<MetricsTable> runs = {read_metrics_table(run, "r")};
  using Members = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(reward_group(runs).members,
            (Members{{"correctness", "reward/correctness/mean"}, {"coverage", "reward/coverage/mean"}}));
  EXPECT_EQ(length_group(runs).members, (Members{{"mean", "caption/length_mean"},
                                                 {"p90", "caption/length_p90"},
                                                 {"reference mean", "caption/reference_length_mean"}}));
  const MetricGroup correctness = named_group(runs, "reward/correctness");
  EXPECT_EQ(correctness.file_stem, "reward_correctness");
  EXPECT_EQ(correctness.members, (Members{{"reward/correctness/mean", "reward/correctness/mean"},
                                          {"reward/correctness/std", "reward/correctness/std"}}));
  EXPECT_EQ(named_group(runs, "loss").members, (Members{{"loss", "loss"}}));
  EXPECT_TRUE(named_group(runs, "reward/cor").members.empty());  // whole path parts only
}

TEST(PlotMetrics, OneRunIsOnePanelWithALinePerObjective) {
  const auto run = write_run(test::scratch_dir() / "demo", kRlRows);
  const std::vector<MetricsTable> runs = {read_metrics_table(run, "demo")};
  const Figure f = group_figure(reward_group(runs), runs);
  EXPECT_EQ(f.title, "Reward per objective (raw mean) - demo");
  ASSERT_EQ(f.panels.size(), 1u);
  ASSERT_EQ(f.panels[0].series.size(), 2u);
  const Series& coverage = f.panels[0].series[1];
  EXPECT_EQ(coverage.label, "coverage");
  EXPECT_EQ(coverage.x, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(coverage.y[0], 0.3);
  EXPECT_TRUE(std::isnan(coverage.y[1]));  // null -> a gap
}

TEST(PlotMetrics, SeveralRunsGetAPanelPerObjectiveAndALinePerRun) {
  const auto dir = test::scratch_dir();
  // Run b logged no coverage: its panel has run a's line only.
  const std::string b_rows = "{\"step\": 1, \"reward/correctness/mean\": 0.7}\n{\"step\": 2, "
                             "\"reward\": {\"correctness\": {\"mean\": 0.8}}}\n";
  const std::vector<MetricsTable> runs = {read_metrics_table(write_run(dir / "a", kRlRows), "a"),
                                          read_metrics_table(write_run(dir / "b", b_rows), "b")};
  const Figure f = group_figure(reward_group(runs), runs);
  ASSERT_EQ(f.panels.size(), 2u);
  EXPECT_EQ(f.panels[0].title, "correctness");
  ASSERT_EQ(f.panels[0].series.size(), 2u);
  EXPECT_EQ(f.panels[0].series[0].label, "a");
  EXPECT_EQ(f.panels[0].series[1].label, "b");
  EXPECT_EQ(f.panels[0].series[1].y, (std::vector<double>{0.7, 0.8}));
  EXPECT_EQ(f.panels[1].title, "coverage");
  ASSERT_EQ(f.panels[1].series.size(), 1u);
}

TEST(PlotMetrics, SyntheticRunWritesRewardLengthAndNamedPlots) {
  const auto run = write_run(test::scratch_dir() / "demo", kRlRows);
  const auto written = plot_runs({{run}, {}, {"loss", "reward/correctness"}});
  const std::vector<fs::path> want = {run / "plots" / "rewards.png", run / "plots" / "length.png",
                                      run / "plots" / "loss.png", run / "plots" / "reward_correctness.png"};
  EXPECT_EQ(written, want);
  for (const auto& file : want) {
    const vision::Image image = vision::decode_image_file(file);
    EXPECT_EQ(image.width, 800) << file;
    EXPECT_EQ(image.height, 30 + 460 + 16 + 8) << file;  // title, panel, one legend row, padding
  }
}

TEST(PlotMetrics, FormatsWriteEachChartOncePerFormatInTheirOrder) {
  const auto run = write_run(test::scratch_dir() / "demo", kRlRows);
  const fs::path plots = run / "plots";
  const auto both = plot_runs({{run}, {}, {}, {ImageFormat::kPng, ImageFormat::kSvg}});
  EXPECT_EQ(both, (std::vector<fs::path>{plots / "rewards.png", plots / "rewards.svg", plots / "length.png",
                                         plots / "length.svg"}));
  EXPECT_EQ(vision::decode_image_file(plots / "length.png").height, 30 + 460 + 16 + 8);
  const std::string svg = test::read_file(plots / "rewards.svg");
  EXPECT_TRUE(svg.starts_with("<?xml")) << svg.substr(0, 80);
  EXPECT_NE(svg.find("<title>Reward per objective (raw mean) - demo</title>"), std::string::npos);
  EXPECT_NE(svg.find("width=\"800px\" height=\"514px\""), std::string::npos) << svg.substr(0, 300);
  fs::remove_all(plots);
  EXPECT_EQ(plot_runs({{run}, {}, {"loss"}, {ImageFormat::kSvg}}), (std::vector<fs::path>{
      plots / "rewards.svg", plots / "length.svg", plots / "loss.svg"}));
  EXPECT_FALSE(fs::exists(plots / "rewards.png"));
  EXPECT_THROW(plot_runs({{run}, {}, {}, {}}), UsageError);
}

TEST(PlotMetrics, ComparisonWritesIntoOutWithPanelsSideBySide) {
  const auto dir = test::scratch_dir();
  write_run(dir / "a", kRlRows);
  write_run(dir / "b", kRlRows);
  const auto written = plot_runs({{dir / "a", dir / "b" / "metrics.jsonl"}, dir / "cmp", {}});
  ASSERT_EQ(written.size(), 2u);
  const vision::Image rewards = vision::decode_image_file(dir / "cmp" / "rewards.png");
  EXPECT_EQ(rewards.width, 2 * 520);  // two objectives, 520 px panels
  const vision::Image length = vision::decode_image_file(dir / "cmp" / "length.png");
  EXPECT_EQ(length.width, 3 * 520);
  EXPECT_FALSE(fs::exists(dir / "a" / "plots"));
}

TEST(PlotMetrics, NothingToPlotOrAnUnknownNameListsWhatIsLogged) {
  const auto dir = test::scratch_dir();
  const auto sft = write_run(dir / "sft", "{\"step\": 1, \"loss\": 2.5, \"lr\": 0.001}\n");
  std::string e = error_of([&] { plot_runs({{sft}, {}, {}}); });
  EXPECT_NE(e.find("no per-objective reward"), std::string::npos) << e;
  EXPECT_NE(e.find("HINT: pick groups with --metrics"), std::string::npos) << e;
  EXPECT_NE(e.find("logged: loss, lr"), std::string::npos) << e;
  EXPECT_EQ(plot_runs({{sft}, {}, {"loss"}}), (std::vector<fs::path>{sft / "plots" / "loss.png"}));
  e = error_of([&] { plot_runs({{sft}, {}, {"kl"}}); });
  EXPECT_NE(e.find("--metrics 'kl' matches no numeric series"), std::string::npos) << e;
  EXPECT_THROW(plot_runs({{sft, sft}, {}, {"loss"}}), UsageError);
  EXPECT_THROW(plot_runs({{}, dir, {}}), UsageError);
}

}  // namespace
}  // namespace balcap::plot
