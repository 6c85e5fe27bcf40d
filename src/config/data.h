#pragma once
// `data:` — the captioning dataset (JSONL records, docs/data.md) and the instruction.
#include <cstdint>
#include <string>

#include "config/spec.h"

namespace balcap::config {

struct DataConfig {
  std::string train;  // JSONL of {"id","image","references",...}
  std::string eval;   // optional held-out JSONL
  std::string prompt = "Describe this image in detail.";
  std::string system_prompt;
  std::string on_bad_record = "skip";
  bool shuffle = true;
  std::int64_t max_records = 0;
  std::string image_check = "header";
  std::int64_t workers = 2;

  template <class V>
  void visit(V& v) {
    v.field("train", train,
            "Training records: a JSONL file (one record per line; image paths relative to the "
            "file). Need not exist when the config is checked.",
            Spec().required());
    v.field("eval", eval, "Held-out JSONL for evaluation; empty = no evaluation set.");
    v.field("prompt", prompt, "The captioning instruction put in the user turn after the image.");
    v.field("system_prompt", system_prompt, "System message; empty = the chat template's default for the family.");
    v.field("on_bad_record", on_bad_record,
            "A record with bad JSON, missing fields or an unreadable image: `skip` logs it and "
            "goes on, `fail` stops before training starts.",
            Spec().one_of({"skip", "fail"}));
    v.field("shuffle", shuffle, "Shuffle the records every epoch (seeded by train.seed and the epoch).");
    v.field("max_records", max_records,
            "Use only the first N good records (later lines are not read); 0 = all.", Spec().at_least(0));
    v.field("image_check", image_check,
            "How images are validated at load: `header` (the file exists and its PNG/JPEG header decodes; "
            "fast) or `decode` (every image decoded once).",
            Spec().one_of({"header", "decode"}));
    v.field("workers", workers, "Threads that decode and preprocess images.", Spec().at_least(1).at_most(256));
  }
  bool operator==(const DataConfig&) const = default;
};

}  // namespace balcap::config
