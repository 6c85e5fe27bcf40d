#pragma once
// `balcap data synth`: random scenes, their texts (references in three styles, multiple-choice
// questions, claims) and the JSONL dataset with rendered PNGs (docs/data.md, "Synthetic scenes").
// Record i of a split depends only on (seed, split, i): `--n 100` starts with the records of
// `--n 10`, and the same seed gives byte-identical files.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/data_order.h"
#include "data/record.h"
#include "data/scene.h"

namespace balcap::data {

enum class SynthSplit : std::uint64_t { kTrain = 0, kEval = 1 };

// The random scene (without questions) of record `index` of `split`.
//   background colour and style uniform; 1, 2 or 3 groups (30/40/30 %) of distinct colour+shape,
//   each of 1, 2 or 3 objects (65/25/10 %) and one size; objects in distinct random cells,
//   offset from the cell centre by up to max_offset pixels.
Scene random_scene(std::uint64_t seed, SynthSplit split, std::int64_t index, int size);

// The three reference styles: terse list, one sentence, a paragraph that states every claim and, for
// about one scene in three, ends with meta-commentary (scene_commentary), as real references often
// do ("The scene feels calm."): true of nothing one can point to, so the policy trained on them
// writes some too, and the pointability test (rewards.pointability) has something to remove.
std::vector<std::string> scene_references(const Scene& scene);

// The scene's commentary sentence, "The <subject> <verb> <word>." (data/scene_claims.h), or "" for
// about two scenes in three; drawn from its own stream of the scene's noise seed.
std::string scene_commentary(const Scene& scene);

// The JSONL record: {"id","image","references","qa","claims","scene"}.
nlohmann::json scene_record(const std::string& id, const std::string& image, const Scene& scene,
                            const std::vector<QaItem>& qa);

struct SynthOptions {
  std::filesystem::path out;
  std::int64_t n = 0;  // training records
  std::uint64_t seed = 0;
  int size = 84;            // image side in pixels
  std::int64_t n_eval = 0;  // held-out records (eval.jsonl); 0 = none
};

struct SynthResult {
  std::filesystem::path train, eval;  // eval empty when n_eval == 0
};

// Writes OUT/images/<id>.png, OUT/train.jsonl and (n_eval > 0) OUT/eval.jsonl.
SynthResult synth_dataset(const SynthOptions& options);

}  // namespace balcap::data
