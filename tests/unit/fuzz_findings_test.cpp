// What fuzzing found (issue 18, docs/reliability.md), one test per fix, through the public entry
// points: each input of tests/data/fuzz/ named after a finding is now refused with a balcap::Error
// that names the file and gives a HINT, or read correctly. The regression corpus test
// (fuzz_regressions_test.cpp) runs the same files through the harnesses; these tests also fail
// where the old behaviour was only slow or undefined in a Release build (no sanitizer, no limit).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "checkpoint/trainer_state.h"
#include "core/error.h"
#include "data/dataset.h"
#include "io/json_file.h"
#include "io/safetensors_reader.h"
#include "support/error_of.h"
#include "support/test_support.h"
#include "text/tokenizer.h"
#include "vision/image.h"
#include "vision/resample.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;

fs::path finding(const std::string& relative) { return test::data_path("fuzz/" + relative); }

using test::error_of;

void expect_contains(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << part << " not in: " << message;
}

TEST(FuzzFindings, ANumberBeyondDoubleInAJsonFileIsInvalidJsonNamingTheFile) {
  const auto file = finding("trainer_state/number-overflow-1e400.json");
  expect_contains(error_of([&] { io::read_json_file(file); }), {file.string(), "invalid JSON", "1e400", "HINT"});
  const auto st = finding("safetensors/number-overflow-1e400.safetensors");
  expect_contains(error_of([&] { io::SafetensorsFile{st}; }), {st.string(), "not valid JSON", "HINT"});
}

TEST(FuzzFindings, ANumberBeyondDoubleInADatasetLineIsThatLinesProblem) {
  const auto dir = test::scratch_dir();
  fs::copy_file(test::data_path("images/palette_color.png"), dir / "a.png");
  fs::copy_file(finding("dataset/number-overflow-1e400.jsonl"), dir / "data.jsonl");
  const data::Dataset ds = data::read_dataset(dir / "data.jsonl", {});
  ASSERT_EQ(ds.bad.size(), 1u);
  expect_contains(data::describe(ds.path, ds.bad[0]), {"data.jsonl:1", "bad JSON", "1e400"});
}

TEST(FuzzFindings, AFloatWhereTheTrainerStateHasAnIntegerIsTheWrongType) {
  const auto file = finding("trainer_state/float-step-1e200.json");
  expect_contains(error_of([&] { checkpoint::load_trainer_state(file); }), {file.string(), "'step'", "wrong type"});
}

TEST(FuzzFindings, AVocabularyWithOneTokenAtId16MIsRefusedBeforeAllocating) {
  const auto dir = test::scratch_dir();
  fs::copy_file(finding("tokenizer_json/sparse-vocab-id.json"), dir / "tokenizer.json");
  expect_contains(error_of([&] { text::load_tokenizer(dir / "tokenizer.json"); }),
                  {"tokenizer.json", "1 tokens but ids up to 16777215", "HINT"});
}

TEST(FuzzFindings, ASentencepieceModelThatBreaksItsTrieIsACannotLoadError) {
  const auto dir = test::scratch_dir();
  fs::copy_file(finding("tokenizer_model/darts-zero-length-key.model"), dir / "tokenizer.model");
  expect_contains(error_of([&] { text::load_tokenizer(dir / "tokenizer.model"); }),
                  {"tokenizer.model", "cannot load sentencepiece model", "HINT"});
}

TEST(FuzzFindings, ADeviceAsAnImagePathIsRefusedInsteadOfReadForever) {
  const auto start = std::chrono::steady_clock::now();
  expect_contains(error_of([] { vision::decode_image_file("/dev/zero"); }), {"/dev/zero", "not a regular file"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// The CLIP processor resizes only the centre crop it keeps (a 5x255 image is 336x17136 resized):
// the window equals the same pixels of the whole resize, for up- and downscaling, either pass order.
TEST(FuzzFindings, AResizeWindowEqualsThosePixelsOfTheWholeResize) {
  const vision::Image image = vision::decode_image_file(finding("image/clip-5x255-resize-whole.jpg"));
  ASSERT_EQ(image.width, 5);
  ASSERT_EQ(image.height, 255);
  struct Case { int width, height, x0, y0, w, h; };
  for (const Case& c : {Case{336, 17136, 0, 8400, 336, 336}, Case{3, 40, 1, 7, 2, 20}, Case{5, 100, 0, 0, 5, 100},
                        Case{9, 255, 2, 0, 4, 255}, Case{5, 255, 1, 3, 3, 4}}) {
    const vision::Image whole = vision::resize_bicubic(image, c.width, c.height);
    const vision::Image window = vision::resize_bicubic_window(image, c.width, c.height, c.x0, c.y0, c.w, c.h);
    ASSERT_EQ(window.width, c.w);
    ASSERT_EQ(window.height, c.h);
    for (int y = 0; y < c.h; ++y) {
      for (int x = 0; x < c.w * 3; ++x) {
        ASSERT_EQ(window.rgb[size_t(y) * c.w * 3 + x], whole.rgb[(size_t(c.y0 + y) * c.width + c.x0) * 3 + x])
            << c.width << "x" << c.height << " window at (" << c.x0 + x / 3 << ", " << c.y0 + y << ")";
      }
    }
  }
}

}  // namespace
}  // namespace balcap
