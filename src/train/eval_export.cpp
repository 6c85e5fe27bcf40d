// Benchmark caption files; see src/train/eval_export.h (formats and their sources).
#include "train/eval_export.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"

namespace balcap::train {

namespace {

constexpr const char* kFormatsHint =
    "HINT: --export takes dcscore, captionqa, caparena (repeat it or give a comma list).";

// Invalid UTF-8 in a caption becomes U+FFFD rather than aborting the export.
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// Each value of `key(caption)` once; a second image with the same key -> error naming both records.
template <class Key>
void check_unique(ExportFormat format, const std::vector<ExportCaption>& captions, Key key, const std::string& what) {
  std::map<std::string, const ExportCaption*> seen;
  for (const ExportCaption& c : captions) {
    const auto [it, fresh] = seen.emplace(key(c), &c);
    BALCAP_CHECK(fresh,
                 "{} export: records '{}' and '{}' have the same {} '{}', the key of the benchmark's file. HINT: "
                 "give each benchmark image its own file name in the eval set (docs/eval.md).",
                 export_name(format), it->second->id, c.id, what, key(c));
  }
}

std::string dcscore_text(const std::vector<ExportCaption>& captions) {
  check_unique(
      ExportFormat::kDcscore, captions, [](const ExportCaption& c) { return c.image_name; }, "image file name");
  std::string out;
  for (const ExportCaption& c : captions) {
    BALCAP_CHECK(!c.reference.empty(),
                 "dcscore export: record '{}' (image {}) has no reference caption; DeCapBench's "
                 "evaluation_decapbench.py verifies each caption against the line's oracle_caption. HINT: build "
                 "the eval JSONL from DeCapBench's eval/human_annotated_oracle_facts.jsonl with \"references\": "
                 "[oracle_caption] (docs/eval.md).",
                 c.id, c.image_name);
    nlohmann::ordered_json line;
    line["image_path"] = c.image_name;
    line["image_name"] = c.image_name;
    line["caption"] = c.caption;
    line["oracle_caption"] = c.reference;
    out += dump(line) + "\n";
  }
  return out;
}

// {key: caption} in eval order.
template <class Key>
std::string caption_map_text(ExportFormat format, const std::vector<ExportCaption>& captions, Key key,
                             const std::string& what) {
  check_unique(format, captions, key, what);
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const ExportCaption& c : captions) j[key(c)] = c.caption;
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

std::vector<ExportFormat> parse_export_formats(const std::vector<std::string>& values) {
  std::vector<ExportFormat> out;
  for (const std::string& value : values) {
    std::size_t begin = 0;
    while (begin <= value.size()) {
      const std::size_t end = std::min(value.find(',', begin), value.size());
      const std::string name = value.substr(begin, end - begin);
      begin = end + 1;
      if (name.empty()) continue;
      ExportFormat f;
      if (name == "dcscore")
        f = ExportFormat::kDcscore;
      else if (name == "captionqa")
        f = ExportFormat::kCaptionqa;
      else if (name == "caparena")
        f = ExportFormat::kCaparena;
      else
        fail("--export: unknown benchmark format '{}'. {}", name, kFormatsHint);
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    }
  }
  return out;
}

std::string export_name(ExportFormat format) {
  switch (format) {
    case ExportFormat::kDcscore:
      return "dcscore";
    case ExportFormat::kCaptionqa:
      return "captionqa";
    case ExportFormat::kCaparena:
      return "caparena";
  }
  return "?";
}

std::string export_file_name(ExportFormat format) {
  return export_name(format) + (format == ExportFormat::kDcscore ? ".jsonl" : ".json");
}

std::vector<ExportCaption> export_captions(const std::vector<CaptionOfRecord>& captions) {
  std::vector<ExportCaption> out;
  for (const CaptionOfRecord& c : captions) {
    if (c.member != 0) continue;  // the benchmarks take one caption per image
    const data::Record& r = *c.record;
    out.push_back({r.id, r.image.filename().string(), c.caption, r.references.empty() ? "" : r.references.front()});
  }
  return out;
}

std::string export_text(ExportFormat format, const std::vector<ExportCaption>& captions) {
  switch (format) {
    case ExportFormat::kDcscore:
      return dcscore_text(captions);
    case ExportFormat::kCaptionqa:
      return caption_map_text(
          format, captions, [](const ExportCaption& c) { return c.id; }, "id");
    case ExportFormat::kCaparena:
      return caption_map_text(
          format, captions, [](const ExportCaption& c) { return c.image_name; }, "image file name");
  }
  return "";
}

std::vector<std::filesystem::path> write_exports(const std::vector<ExportFormat>& formats,
                                                 const std::vector<ExportCaption>& captions,
                                                 const std::filesystem::path& dir) {
  // Every file's text first: a format that cannot be written stops the export before any file is.
  std::vector<std::string> texts;
  for (ExportFormat f : formats) texts.push_back(export_text(f, captions));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  BALCAP_CHECK(!ec, "cannot create the export directory {}: {}. HINT: pass a writable --export-dir.", dir.string(),
               ec.message());
  std::vector<std::filesystem::path> paths;
  for (std::size_t i = 0; i < formats.size(); ++i) {
    const std::filesystem::path path = dir / export_file_name(formats[i]);
    io::write_file_atomically(path, texts[i]);
    spdlog::info("eval: wrote {} ({} captions, {} format)", path.string(), captions.size(), export_name(formats[i]));
    paths.push_back(path);
  }
  return paths;
}

}  // namespace balcap::train
