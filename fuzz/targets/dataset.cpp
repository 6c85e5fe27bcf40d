// Harness `dataset`: the bytes are a dataset JSONL file (docs/data.md) in a scratch directory that
// also holds images the records may name: a.png (a palette PNG), b.png (an indexed 3x5 PNG) and
// bad.jpg (a truncated JPEG). read_dataset checks every line (UTF-8, JSON, fields, QA items, scene
// ground truth, image headers, duplicate ids); load_dataset applies both on_bad_record policies
// and the report of bad lines is rendered.
#include <filesystem>

#include "data/dataset.h"
#include "fuzz_support.h"

namespace balcap::fuzz {
namespace {

// The scratch directory with the images copied in once; returns the JSONL path to write.
std::filesystem::path dataset_file() {
  static const std::filesystem::path file = [] {
    namespace fs = std::filesystem;
    const fs::path dir = scratch_dir() / "dataset";
    fs::create_directories(dir);
    const fs::path images = test_data_dir() / "images";
    fs::copy_file(images / "palette_color.png", dir / "a.png", fs::copy_options::overwrite_existing);
    fs::copy_file(images / "foo3x5x4indexed.png", dir / "b.png", fs::copy_options::overwrite_existing);
    fs::copy_file(images / "truncated.jpg", dir / "bad.jpg", fs::copy_options::overwrite_existing);
    return dir / "data.jsonl";
  }();
  return file;
}

}  // namespace

int dataset(Bytes input) {
  quiet_logs();
  const auto file = write_scratch(std::filesystem::relative(dataset_file(), scratch_dir()).string(), as_text(input));
  accepted([&] { (void)data::validation_report(data::read_dataset(file, {}), 20); });
  for (auto policy : {data::OnBadRecord::kSkip, data::OnBadRecord::kFail}) {
    data::LoadOptions options;
    options.on_bad_record = policy;
    accepted([&] { (void)data::load_dataset(file, options); });
  }
  return 0;
}

}  // namespace balcap::fuzz
