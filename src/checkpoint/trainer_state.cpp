#include "checkpoint/trainer_state.h"

#include <type_traits>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

namespace balcap::checkpoint {

namespace {
constexpr int kFormat = 1;

const nlohmann::json& need(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.contains(key)) {
    fail(
        "{}: key '{}' is missing. HINT: the checkpoint is damaged or from another program; resume from another "
        "checkpoint or start fresh with --resume none",
        source, key);
  }
  return j.at(key);
}

template <class T>
T typed(const nlohmann::json& j, const char* key, const std::string& source) {
  const auto& v = need(j, key, source);
  // Integer keys take JSON integers only: get<int64_t>() of 1e200 is undefined behaviour (fuzzing
  // found it), of 3.5 a silent 3.
  const bool integer_expected = std::is_integral_v<T>;
  try {
    if (!integer_expected || v.is_number_integer()) return v.get<T>();
  } catch (const nlohmann::json::exception&) {
  }
  fail("{}: key '{}' has the wrong type (value {}). HINT: the checkpoint is damaged; resume from another one", source,
       key, v.dump());
}
}  // namespace

nlohmann::json to_json(const TrainerState& s) {
  return {{"format", kFormat},
          {"step", s.step},
          {"epoch", s.epoch},
          {"data_cursor", s.data_cursor},
          {"rng", s.rng},
          {"lr_schedule", s.lr_schedule},
          {"world_size", s.world_size},
          {"config_hash", s.config_hash},
          {"extra", s.extra}};
}

TrainerState trainer_state_from_json(const nlohmann::json& j, const std::string& source) {
  BALCAP_CHECK(j.is_object(), "{}: expected a JSON object, got {}. HINT: the checkpoint is damaged", source,
               j.type_name());
  const auto format = typed<int64_t>(j, "format", source);
  BALCAP_CHECK(format == kFormat,
               "{}: trainer state format {} is not supported (this balcap reads {}). HINT: resume with the balcap "
               "version that wrote it",
               source, format, kFormat);
  TrainerState s;
  s.step = typed<int64_t>(j, "step", source);
  s.epoch = typed<int64_t>(j, "epoch", source);
  s.data_cursor = need(j, "data_cursor", source);
  s.rng = typed<std::map<std::string, std::string>>(j, "rng", source);
  s.lr_schedule = need(j, "lr_schedule", source);
  s.world_size = typed<int64_t>(j, "world_size", source);
  s.config_hash = typed<std::string>(j, "config_hash", source);
  s.extra = need(j, "extra", source);
  BALCAP_CHECK(s.step >= 0 && s.epoch >= 0 && s.world_size >= 1,
               "{}: step {} / epoch {} / world_size {} out of range. HINT: damaged checkpoint", source, s.step, s.epoch,
               s.world_size);
  return s;
}

void save_trainer_state(const std::filesystem::path& file, const TrainerState& state) {
  io::write_file_atomically(file, to_json(state).dump(2) + "\n");
}

TrainerState load_trainer_state(const std::filesystem::path& file) {
  return trainer_state_from_json(io::read_json_file(file), file.string());
}

}  // namespace balcap::checkpoint
