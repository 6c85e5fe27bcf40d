// Eval records from a JSONL file or a folder of images; see src/train/eval_data.h.
#include "train/eval_data.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/error.h"
#include "core/log.h"

namespace balcap::train {

namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

data::Dataset image_folder_dataset(const fs::path& dir, std::int64_t max_records) {
  std::vector<fs::path> files;
  std::int64_t skipped = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && is_image_file(e.path()))
      files.push_back(e.path());
    else
      ++skipped;
  }
  std::sort(files.begin(), files.end());
  BALCAP_CHECK(!files.empty(),
               "--data {}: the folder has no .png, .jpg or .jpeg file. HINT: pass the folder that "
               "holds the benchmark's images, or an eval JSONL (docs/data.md).",
               dir.string());
  if (max_records > 0 && static_cast<std::int64_t>(files.size()) > max_records) files.resize(max_records);
  data::Dataset d;
  d.path = dir;
  std::map<std::string, fs::path> by_id;
  for (const fs::path& file : files) {
    const std::string id = file.stem().string();
    const auto [it, fresh] = by_id.emplace(id, file);
    BALCAP_CHECK(fresh,
                 "--data {}: {} and {} would both get the id '{}' (the file name without its extension). "
                 "HINT: rename one of them.",
                 dir.string(), it->second.filename().string(), file.filename().string(), id);
    data::Record r;
    r.id = id;
    r.image = fs::absolute(file);
    r.index = static_cast<std::int64_t>(d.records.size());
    d.records.push_back(std::move(r));
  }
  d.lines_read = static_cast<std::int64_t>(d.records.size());
  spdlog::info("eval: {} images from the folder {} (id = file name without extension){}", d.records.size(),
               dir.string(), skipped > 0 ? fmt::format("; {} other entries left out", skipped) : "");
  return d;
}

data::Dataset load_eval_dataset(const fs::path& path, const config::DataConfig& config) {
  if (fs::is_directory(path)) return image_folder_dataset(path, config.max_records);
  return data::load_dataset(path, config);
}

}  // namespace balcap::train
