#pragma once
// `balcap eval --export`: the captions of an evaluation in the input format of each benchmark's
// published tooling, so its GPT-4o-judged evaluation runs on them without glue (docs/eval.md has
// the step-by-step use and the sources). One caption per image: the first (member 0).
//
//   dcscore    dcscore.jsonl, one JSON object per line, the caption file of DeCapBench's
//              eval/evaluation_decapbench.py (MAGAer13/DeCapBench):
//                {"image_path": NAME, "image_name": NAME, "caption": TEXT, "oracle_caption": REF}
//              image_path is the key into its human_annotated_oracle_facts.jsonl ("image_name" there)
//              and the file it opens under --image_path; oracle_caption is the human reference it
//              verifies against (the record's first reference: required). image_name is the same
//              value for scripts that read that key instead.
//   captionqa  captionqa.json, one JSON object {ID: TEXT}, read by CaptionQA's qa.py
//              --caption-path (bronyayang/CaptionQA): keys are the dataset's `id` ("nat_001").
//   caparena   caparena.json, one JSON object {NAME: TEXT}, read by CapArena's
//              caparena_auto_eval.py --result_path (njucckevin/CapArena): keys are the 600 image
//              file names ("test_01258.jpg").
// NAME is the file name of the record's image (its last path component), ID the record's id.
#include <filesystem>
#include <string>
#include <vector>

#include "data/record.h"

namespace balcap::train {

enum class ExportFormat { kDcscore, kCaptionqa, kCaparena };

// "dcscore" | "captionqa" | "caparena", each value possibly a comma list ("dcscore,caparena");
// duplicates kept once, in first-seen order. Unknown name -> balcap::Error with a HINT.
std::vector<ExportFormat> parse_export_formats(const std::vector<std::string>& values);
std::string export_name(ExportFormat format);       // "dcscore"
std::string export_file_name(ExportFormat format);  // "dcscore.jsonl"

// One image's caption with what the formats key it by.
struct ExportCaption {
  std::string id;          // record id
  std::string image_name;  // file name of the record's image
  std::string caption;
  std::string reference;  // the record's first reference ("" when none)
};

// The member-0 caption of every record, in order: records[i] is the record of (id, member, caption)[i].
struct CaptionOfRecord {
  const data::Record* record = nullptr;
  std::int64_t member = 0;
  std::string caption;
};
std::vector<ExportCaption> export_captions(const std::vector<CaptionOfRecord>& captions);

// The file's bytes for one format (checks first: DCScore needs a reference per image; keys must be
// unique). Throws balcap::Error naming the record and format, with a HINT.
std::string export_text(ExportFormat format, const std::vector<ExportCaption>& captions);

// Writes every format's file into `dir` (created when missing), atomically; returns the paths.
std::vector<std::filesystem::path> write_exports(const std::vector<ExportFormat>& formats,
                                                 const std::vector<ExportCaption>& captions,
                                                 const std::filesystem::path& dir);

}  // namespace balcap::train
