// The JSONL dataset reader: every kind of bad line is reported with its line number and what is
// wrong; `skip` keeps the good records, `fail` stops with all problems listed; images are
// checked at load and a later decode failure is a counted skip.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "data/dataset.h"
#include "data/image_check.h"
#include "data/record_image.h"
#include "vision/png_encode.h"
#include "support/test_support.h"

namespace balcap::data {
namespace {

namespace fs = std::filesystem;

// A directory with ok.png (4x3), rocket.jpg, notes.png (text), a PNG cut after its header.
fs::path make_images() {
  fs::path dir = test::scratch_dir();
  fs::create_directories(dir / "img");
  vision::Image img{4, 3, std::vector<uint8_t>(4 * 3 * 3, 200)};
  vision::write_png_file(dir / "img/ok.png", img);
  fs::copy_file(test::data_path("images/rocket.jpg"), dir / "img/rocket.jpg");
  test::write_file(dir / "img/notes.png", "a caption, not an image\n");
  std::string png = test::read_file(dir / "img/ok.png");
  test::write_file(dir / "img/cut.png", png.substr(0, 40));  // header decodes, body does not
  return dir;
}

fs::path write_jsonl(const fs::path& dir, const std::string& text) {
  fs::path path = dir / "data.jsonl";
  test::write_file(path, text);
  return path;
}

const std::string kGood1 = R"({"id": "a", "image": "img/ok.png", "references": ["A grey square."]})";
const std::string kGood2 =
    R"({"id": 7, "image": "img/rocket.jpg", "references": [], "claims": ["a rocket"],)"
    R"( "qa": [{"question": "What is it?", "choices": ["a cat", "a rocket"], "answer": "a rocket"}]})";

// The bad line for `line` in the dataset's report, or "" when that line is not bad.
std::string problem_on(const Dataset& ds, std::int64_t line) {
  for (const auto& bad : ds.bad) {
    if (bad.line == line) return describe(ds.path, bad);
  }
  return "";
}

TEST(DataDataset, GoodRecordsLoadWithPathsRelativeToTheFileAndAnswersAsIndices) {
  fs::path dir = make_images();
  auto path = write_jsonl(dir, kGood1 + "\n\n" + kGood2 + "\r\n");
  auto ds = load_dataset(path, LoadOptions{});
  ASSERT_EQ(ds.records.size(), 2u);
  EXPECT_TRUE(ds.bad.empty());
  const auto& a = ds.records[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.image, dir / "img/ok.png");
  EXPECT_EQ(a.references, std::vector<std::string>{"A grey square."});
  EXPECT_EQ(a.line, 1);
  EXPECT_EQ(a.index, 0);
  EXPECT_TRUE(a.scene.is_null());
  const auto& b = ds.records[1];
  EXPECT_EQ(b.id, "7");  // integer ids become strings
  EXPECT_EQ(b.line, 3);  // the blank line still counts
  EXPECT_EQ(b.index, 1);
  ASSERT_EQ(b.qa.size(), 1u);
  EXPECT_EQ(b.qa[0].answer, 1);
  EXPECT_EQ(b.claims, std::vector<std::string>{"a rocket"});
}

TEST(DataDataset, EveryKindOfBadLineIsReportedWithItsLineNumber) {
  fs::path dir = make_images();
  std::string lines[] = {
      kGood1,                                                                       // 1
      R"({"id": "b", "image": "img/ok.png", "references": ["x"])",                  // 2 bad JSON
      "{\"id\": \"c\", \"image\": \"img/ok.png\", \"references\": [\"caf\xE9\"]}",  // 3 invalid UTF-8
      R"({"image": "img/ok.png", "references": ["x"]})",                            // 4 no id
      R"({"id": "e", "image": "img/missing.png", "references": ["x"]})",            // 5 no such image
      R"({"id": "f", "image": "img/notes.png", "references": ["x"]})",              // 6 not an image
      R"({"id": "g", "image": "img/ok.png", "references": "x"})",                   // 7 mistyped field
      R"({"id": "a", "image": "img/ok.png", "references": ["x"]})",                 // 8 duplicate id
      R"({"id": "i", "image": "img/ok.png", "references": ["x"], "qa": [{"question": "q", "choices": ["y", "n"], "answer": 5}]})",  // 9
      R"([1, 2])",                                           // 10 not an object
      R"({"id": "k", "references": ["x"], "claims": [3]})",  // 11 two problems
  };
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  auto path = write_jsonl(dir, text);
  auto ds = read_dataset(path, LoadOptions{});
  EXPECT_EQ(ds.records.size(), 1u);
  EXPECT_EQ(ds.bad.size(), 10u);
  EXPECT_EQ(ds.lines_read, 11);
  std::string loc = path.string() + ":";
  EXPECT_NE(problem_on(ds, 2).find(loc + "2: bad JSON"), std::string::npos) << problem_on(ds, 2);
  EXPECT_NE(problem_on(ds, 3).find("invalid UTF-8 at byte"), std::string::npos) << problem_on(ds, 3);
  EXPECT_NE(problem_on(ds, 4).find(loc + "4: missing \"id\""), std::string::npos) << problem_on(ds, 4);
  EXPECT_NE(problem_on(ds, 5).find("record 'e': image " + (dir / "img/missing.png").string() + " does not exist"),
            std::string::npos)
      << problem_on(ds, 5);
  EXPECT_NE(problem_on(ds, 6).find("not a PNG or JPEG"), std::string::npos) << problem_on(ds, 6);
  EXPECT_NE(problem_on(ds, 7).find("\"references\" must be a list of strings, got string"), std::string::npos);
  EXPECT_NE(problem_on(ds, 8).find("duplicate id 'a' (first on line 1)"), std::string::npos) << problem_on(ds, 8);
  EXPECT_NE(problem_on(ds, 9).find("\"answer\" 5 is not an index into its 2 choices"), std::string::npos);
  EXPECT_NE(problem_on(ds, 10).find("must be a JSON object, got array"), std::string::npos);
  auto both = problem_on(ds, 11);
  EXPECT_NE(both.find("missing \"image\""), std::string::npos) << both;
  EXPECT_NE(both.find("\"claims\"[0] must be a non-empty string"), std::string::npos) << both;
  EXPECT_EQ(problem_on(ds, 1), "");
}

TEST(DataDataset, SkipKeepsTheGoodRecordsAndFailListsEveryProblemBeforeTraining) {
  fs::path dir = make_images();
  auto path = write_jsonl(dir, kGood1 + "\n{oops\n" + kGood2 + "\n" +
                                   R"({"id": "z", "image": "img/missing.png", "references": []})" + "\n");
  LoadOptions skip;
  auto ds = load_dataset(path, skip);
  ASSERT_EQ(ds.records.size(), 2u);
  EXPECT_EQ(ds.records[1].id, "7");
  EXPECT_EQ(ds.records[1].index, 1);
  EXPECT_EQ(ds.bad.size(), 2u);

  LoadOptions fail;
  fail.on_bad_record = OnBadRecord::kFail;
  try {
    load_dataset(path, fail);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("2 bad record(s)"), std::string::npos) << m;
    EXPECT_NE(m.find(path.string() + ":2:"), std::string::npos) << m;
    EXPECT_NE(m.find(path.string() + ":4: record 'z'"), std::string::npos) << m;
    EXPECT_NE(m.find("HINT"), std::string::npos) << m;
  }
}

TEST(DataDataset, MaxRecordsKeepsTheFirstGoodRecordsAndStopsReading) {
  fs::path dir = make_images();
  auto path = write_jsonl(dir, "{bad\n" + kGood1 + "\n" + kGood2 + "\n{also bad\n");
  LoadOptions o;
  o.max_records = 1;
  auto ds = load_dataset(path, o);
  ASSERT_EQ(ds.records.size(), 1u);
  EXPECT_EQ(ds.records[0].id, "a");
  EXPECT_EQ(ds.bad.size(), 1u);  // line 4 is never read
}

TEST(DataDataset, NoUsableRecordOrNoFileIsAnErrorEvenUnderSkip) {
  fs::path dir = make_images();
  EXPECT_THROW(load_dataset(write_jsonl(dir, "{bad\n"), LoadOptions{}), Error);
  EXPECT_THROW(load_dataset(dir / "none.jsonl", LoadOptions{}), Error);
  EXPECT_THROW(parse_on_bad_record("ignore"), Error);
}

TEST(DataDataset, HeaderCheckPassesACutPngThatFullDecodingCatches) {
  fs::path dir = make_images();
  EXPECT_EQ(check_image(dir / "img/cut.png", false), "");
  EXPECT_NE(check_image(dir / "img/cut.png", true), "");
  EXPECT_EQ(check_image(dir / "img/rocket.jpg", false), "");
  EXPECT_NE(check_image(test::data_path("images/truncated.jpg"), true), "");
}

TEST(DataDataset, ImageThatFailsToDecodeLaterIsACountedSkipUnderSkipAndAnErrorUnderFail) {
  fs::path dir = make_images();
  auto path = write_jsonl(dir, kGood1 + "\n" + R"({"id": "cut", "image": "img/cut.png", "references": []})" + "\n");
  auto ds = load_dataset(path, LoadOptions{});
  ASSERT_EQ(ds.records.size(), 2u);
  RecordImageDecoder skip(OnBadRecord::kSkip);
  auto ok = skip.decode(ds.records[0]);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->width, 4);
  EXPECT_FALSE(skip.decode(ds.records[1]).has_value());
  EXPECT_FALSE(skip.decode(ds.records[1]).has_value());
  EXPECT_EQ(skip.skipped(), 2);
  EXPECT_EQ(skip.skipped_records(), 1);
  RecordImageDecoder strict(OnBadRecord::kFail);
  try {
    strict.decode(ds.records[1]);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("record 'cut' (line 2)"), std::string::npos) << m;
    EXPECT_NE(m.find("HINT"), std::string::npos) << m;
  }
}

TEST(DataDataset, OptionsComeFromTheDataSectionOfTheConfig) {
  config::DataConfig c;
  auto defaults = load_options_from(c);
  EXPECT_EQ(defaults.on_bad_record, OnBadRecord::kSkip);
  EXPECT_FALSE(defaults.decode_images);
  c.on_bad_record = "fail";
  c.max_records = 3;
  c.image_check = "decode";
  auto o = load_options_from(c);
  EXPECT_EQ(o.on_bad_record, OnBadRecord::kFail);
  EXPECT_EQ(o.max_records, 3);
  EXPECT_TRUE(o.decode_images);
}

TEST(DataDataset, ReportSummarisesAndLimitsTheListedLines) {
  fs::path dir = make_images();
  auto path = write_jsonl(dir, kGood1 + "\n{x\n{y\n{z\n");
  auto ds = read_dataset(path, LoadOptions{});
  auto report = validation_report(ds, 2);
  EXPECT_NE(report.find("4 records read, 1 good, 3 bad"), std::string::npos) << report;
  EXPECT_NE(report.find(":2:"), std::string::npos);
  EXPECT_NE(report.find(":3:"), std::string::npos);
  EXPECT_EQ(report.find(":4:"), std::string::npos);
  EXPECT_NE(report.find("... and 1 more"), std::string::npos);
}

}  // namespace
}  // namespace balcap::data
