#pragma once
// One captioning record of a JSONL dataset (docs/data.md): the image, its reference captions and
// the optional question/claim annotations the objectives use. Shared by the dataset reader, the
// synthetic scene generator, the rewards and the trainer.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace balcap::data {

// A multiple-choice question about the image (CaptionQA style); `answer` indexes `choices`.
struct QaItem {
  std::string question;
  std::vector<std::string> choices;
  std::int64_t answer = 0;
};

struct Record {
  std::string id;
  std::filesystem::path image;          // absolute, or relative to the current directory (resolved at load)
  std::vector<std::string> references;  // reference captions (may be empty: length mask uses absolute bounds)
  std::vector<QaItem> qa;               // optional
  std::vector<std::string> claims;      // optional: atomic facts about the image
  nlohmann::json scene;                 // synthetic scenes only: the ground truth the scene scorer uses; else null
  std::int64_t line = 0;                // 1-based line in the JSONL file (for messages)
  std::int64_t index = 0;               // position in the dataset (seeds sampling per image)
};

}  // namespace balcap::data
