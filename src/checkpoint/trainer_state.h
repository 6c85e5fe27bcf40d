#pragma once
// trainer_state.json of a checkpoint (docs/architecture.md §9): everything besides the weights and the optimizer
// moments that an exact resume needs. The checkpoint area does not interpret the opaque parts: the
// data area owns the cursor's JSON, the trainer the RNG names and `extra`.
//
//   TrainerState s; s.step = 3; s.data_cursor = dataset.cursor_json();
//   s.rng["torch_cpu"] = generator_state_base64(gen);           // see rng_state.h
//   save_trainer_state(dir / "trainer_state.json", s);          // atomic (temp file + rename)
//   TrainerState r = load_trainer_state(dir / "trainer_state.json");
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace balcap::checkpoint {

struct TrainerState {
  int64_t step = 0;                        // training steps completed (the checkpoint is step-<step>/)
  int64_t epoch = 0;                       // data epoch at the time of saving
  nlohmann::json data_cursor;              // opaque (data area): position in the epoch order, permutation seed...
  std::map<std::string, std::string> rng;  // name -> state (torch generators: base64 of get_state())
  nlohmann::json lr_schedule;              // opaque (train area), e.g. {"step": 12}
  int64_t world_size = 1;
  std::string config_hash;                          // config::config_hash of the run's config
  nlohmann::json extra = nlohmann::json::object();  // free-form (trainer): bad-step counter, totals...

  bool operator==(const TrainerState&) const = default;
};

// {"format": 1, "step", "epoch", "data_cursor", "rng", "lr_schedule", "world_size", "config_hash", "extra"}
nlohmann::json to_json(const TrainerState& state);
// Missing or mistyped keys -> balcap::Error naming `source` and the key, with a HINT.
TrainerState trainer_state_from_json(const nlohmann::json& json, const std::string& source);

void save_trainer_state(const std::filesystem::path& file, const TrainerState& state);
TrainerState load_trainer_state(const std::filesystem::path& file);

}  // namespace balcap::checkpoint
