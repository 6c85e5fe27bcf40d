// `balcap plot` end to end: the binary writes the PNGs (and with --format, SVGs) and prints their
// paths; bad input exits 1 with one line naming the file and a HINT, a comparison without --out or
// an unknown format exits 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "vision/image.h"
#include "support/test_support.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;
using test::run_balcap;
using test::shell_quote;

TEST(PlotCli, RunDirGetsRewardsAndLengthPngsAndThePathsArePrinted) {
  const auto run = test::scratch_dir() / "demo";
  fs::create_directories(run);
  test::write_file(run / "metrics.jsonl",
                   "{\"step\":1,\"reward\":{\"coverage\":{\"mean\":0.2}},\"caption\":{\"length_mean\":20},\"kl\":0}\n"
                   "{\"step\":2,\"reward\":{\"coverage\":{\"mean\":0.4}},\"caption\":{\"length_mean\":22},\"kl\":0.01}\n");
  const auto r = run_balcap("plot " + shell_quote(run.string()) + " --metrics kl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto plots = run / "plots";
  EXPECT_EQ(r.out, (plots / "rewards.png").string() + "\n" + (plots / "length.png").string() + "\n" +
                       (plots / "kl.png").string() + "\n");
  EXPECT_EQ(vision::decode_image_file(plots / "rewards.png").width, 800);
}

TEST(PlotCli, FormatBothWritesEachChartAsPngThenSvgAndSvgOnlyWritesNoPng) {
  const auto dir = test::scratch_dir();  // (a second call would empty it again)
  const auto run = dir / "demo";
  fs::create_directories(run);
  test::write_file(run / "metrics.jsonl", "{\"step\":1,\"reward/coverage/mean\":0.2}\n"
                                          "{\"step\":2,\"reward/coverage/mean\":0.4}\n");
  auto r = run_balcap("plot " + shell_quote(run.string()) + " --format both");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto plots = run / "plots";
  EXPECT_EQ(r.out, (plots / "rewards.png").string() + "\n" + (plots / "rewards.svg").string() + "\n");
  EXPECT_NE(test::read_file(plots / "rewards.svg").find("<svg"), std::string::npos);
  const auto out = dir / "svg_only";
  r = run_balcap("plot " + shell_quote(run.string()) + " --format svg --out " + shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, (out / "rewards.svg").string() + "\n");
  EXPECT_FALSE(fs::exists(out / "rewards.png"));
  r = run_balcap("plot " + shell_quote(run.string()) + " --format gif");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("gif"), std::string::npos) << r.err;
}

TEST(PlotCli, BadLineExitsOneNamingTheFileAndLine) {
  const auto run = test::scratch_dir();
  test::write_file(run / "metrics.jsonl", "{\"step\":1,\"kl\":0}\nnot json\n");
  const auto r = run_balcap("plot " + shell_quote(run.string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((run / "metrics.jsonl").string() + " line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HINT:"), std::string::npos) << r.err;
}

TEST(PlotCli, SeveralRunsNeedOut) {
  const auto r = run_balcap("plot a b");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace balcap
