// The fuzz regression corpus (issue 18): every file of tests/data/fuzz/<harness>/ is run through
// the same harness function the libFuzzer binaries call (fuzz/harnesses.h). Each file is an input
// that once crashed, hung, ran out of memory, tripped a sanitizer or threw something other than
// balcap::Error (named <bug>-<what>.<ext>, see tests/data/fuzz/README.md), or a seed that reaches
// deep into its format; all must now be read, or refused with the clear balcap::Error.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "balcap_test/test_paths.h"
#include "fuzz_support.h"
#include "harnesses.h"
#include "support/test_support.h"

namespace balcap::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus(std::string_view harness) {
  const fs::path dir = fs::path(test::kTestDataDir) / "fuzz" / std::string(harness);
  std::vector<fs::path> files;
  if (fs::is_directory(dir)) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class FuzzRegressions : public ::testing::TestWithParam<Harness> {};

}  // namespace

// gtest prints a failing parameter with this: the harness's name.
void PrintTo(const Harness& harness, std::ostream* out) { *out << harness.name; }

namespace {

TEST_P(FuzzRegressions, EveryInputIsReadOrRefusedWithABalcapError) {
  const Harness& harness = GetParam();
  const auto files = corpus(harness.name);
  ASSERT_FALSE(files.empty()) << "tests/data/fuzz/" << harness.name << "/ holds no inputs";
  for (const auto& file : files) {
    const std::string bytes = test::read_file(file);
    const Bytes input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    try {
      EXPECT_EQ(harness.run(input), 0) << file;
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": escaped the harness as " << typeid(e).name() << ": " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Harness, FuzzRegressions, ::testing::ValuesIn(all_harnesses().begin(), all_harnesses().end()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FuzzContract, ABalcapErrorIsAcceptedAndAnyOtherExceptionEscapes) {
  EXPECT_TRUE(accepted([] {}));
  EXPECT_FALSE(accepted([] { fail("bad input {}. HINT: none", 1); }));
  EXPECT_THROW(accepted([] { throw std::out_of_range("map::at"); }), std::out_of_range);
}

}  // namespace
}  // namespace balcap::fuzz
