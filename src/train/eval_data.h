#pragma once
// Private to src/train: What `balcap eval --data PATH` reads: a JSONL dataset (data/dataset.h, with the
// config's data.* checks), or a folder of images, for captioning a benchmark's own image set
// (docs/eval.md): one record per PNG / JPEG file directly in the folder (by extension, any case;
// sorted by name; sub-folders and other files are left out), id = the file name without its
// extension, no references, questions or scene. Two files with the same stem ("a.png", "a.jpg")
// -> balcap::Error naming both; no image at all -> balcap::Error.
#include <filesystem>

#include "config/data.h"
#include "data/dataset.h"

namespace balcap::train {

data::Dataset load_eval_dataset(const std::filesystem::path& path, const config::DataConfig& config);

// The folder case alone (data.max_records > 0 keeps the first N images).
data::Dataset image_folder_dataset(const std::filesystem::path& dir, std::int64_t max_records = 0);

}  // namespace balcap::train
