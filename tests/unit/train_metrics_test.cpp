// metrics.jsonl (resume truncation), TensorBoard event files (read back by tensorboard's own
// EventAccumulator), CRC-32C, and the progress line formatting.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/metrics_writer.h"
#include "train/progress.h"
#include "train/tensorboard_writer.h"
#include "balcap_test/test_paths.h"
#include "support/test_support.h"

namespace balcap::train {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::scratch_dir;

nlohmann::json row(int64_t step) { return {{"step", step}, {"loss", 0.5 / double(step)}, {"lr", 1e-6}}; }

TEST(MetricsWriter, ResumeDropsLinesAfterTheCheckpointStepSoTheFileEqualsAnUninterruptedRun) {
  const auto uninterrupted = scratch_dir() / "a";
  const auto resumed = scratch_dir() / "b";
  {
    MetricsWriter m(uninterrupted, std::nullopt);
    for (int64_t s = 1; s <= 6; ++s) m.write(row(s));
  }
  {
    MetricsWriter m(resumed, std::nullopt);
    for (int64_t s = 1; s <= 4; ++s) m.write(row(s));
  }
  // The run died while writing step 5's line, after the checkpoint at step 3.
  test::write_file(resumed / "metrics.jsonl", read_file(resumed / "metrics.jsonl") + R"({"step": 5, "lo)");
  {
    MetricsWriter m(resumed, 3);
    for (int64_t s = 4; s <= 6; ++s) m.write(row(s));
  }
  EXPECT_EQ(read_file(resumed / "metrics.jsonl"), read_file(uninterrupted / "metrics.jsonl"));
  EXPECT_EQ(metrics_lines_up_to(resumed / "metrics.jsonl", 100).size(), 6u);
}

TEST(MetricsWriter, FreshStartTruncatesAndRowsNeedAStep) {
  const auto run = scratch_dir();
  {
    MetricsWriter m(run, std::nullopt);
    m.write(row(1));
  }
  MetricsWriter m(run, std::nullopt);
  EXPECT_EQ(read_file(run / "metrics.jsonl"), "");
  EXPECT_THROW(m.write({{"loss", 1.0}}), Error);
  m.write({{"step", 1}, {"bad", NAN}});
  EXPECT_EQ(read_file(run / "metrics.jsonl"), "{\"bad\":null,\"step\":1}\n");
}

TEST(TensorBoard, Crc32cMatchesKnownValues) {
  // RFC 3720 B.4 / the usual check value of CRC-32C.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
}

nlohmann::json read_with_tensorboard(const fs::path& dir) {
  const auto script = fs::path(test::kSourceDir) / "tests" / "reference" / "train_tensorboard_check.py";
  const auto r = test::run_command(fmt::format("{} {} {}", test::shell_quote(test::kPython),
                                               test::shell_quote(script.string()), test::shell_quote(dir.string())));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(TensorBoard, TensorboardReadsTheScalarsBalcapWrote) {
  const auto dir = scratch_dir() / "tensorboard";
  {
    TensorBoardWriter tb(dir, std::nullopt);
    for (int64_t s = 1; s <= 3; ++s) {
      tb.add_scalars(s, {{"loss", 0.25 * s}, {"reward/coverage/mean", 1.0 / 3.0 + s}, {"lr", 1e-6 * s}}, 1.7e9 + s);
    }
  }
  const auto got = read_with_tensorboard(dir);
  EXPECT_EQ(got["file_versions"], nlohmann::json::array({"brain.Event:2"}));
  ASSERT_EQ(got["scalars"].size(), 3u) << got.dump();
  for (int64_t s = 1; s <= 3; ++s) {
    EXPECT_EQ(got["scalars"]["loss"][s - 1][0], s);
    EXPECT_EQ(got["scalars"]["loss"][s - 1][1].get<double>(), 0.25 * s);
    // simple_value is a float32: the value comes back as its float rounding.
    EXPECT_EQ(got["scalars"]["reward/coverage/mean"][s - 1][1].get<double>(), double(float(1.0 / 3.0 + s)));
    EXPECT_EQ(got["scalars"]["lr"][s - 1][1].get<double>(), double(float(1e-6 * s)));
  }
}

TEST(TensorBoard, ResumeDropsEventsAfterTheResumedStep) {
  const auto dir = scratch_dir() / "tensorboard";
  {
    TensorBoardWriter tb(dir, std::nullopt);
    for (int64_t s = 1; s <= 5; ++s) tb.add_scalars(s, {{"loss", double(s)}}, 1.7e9 + s);
  }
  {
    TensorBoardWriter tb(dir, 3);
    for (int64_t s = 4; s <= 6; ++s) tb.add_scalars(s, {{"loss", 10.0 * s}}, 1.7e9 + 10 + s);
  }
  const auto got = read_with_tensorboard(dir);
  const auto expected = nlohmann::json::parse("[[1,1.0],[2,2.0],[3,3.0],[4,40.0],[5,50.0],[6,60.0]]");
  EXPECT_EQ(got["scalars"]["loss"], expected) << got.dump();
}

TEST(Progress, FormatsDurationsAndBars) {
  EXPECT_EQ(format_duration(12.4), "12s");
  EXPECT_EQ(format_duration(245), "4m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(NAN), "?");
  EXPECT_EQ(progress_bar(0.5, 8), "[####----]");
  EXPECT_EQ(progress_bar(2.0, 4), "[####]");
  Progress plain(10, 0, "never");
  EXPECT_FALSE(plain.uses_bar());
  EXPECT_TRUE(Progress(10, 0, "always").uses_bar());
}

}  // namespace
}  // namespace balcap::train
