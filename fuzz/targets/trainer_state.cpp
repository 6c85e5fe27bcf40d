// Harness `trainer_state`: the bytes are a checkpoint's trainer_state.json. load_trainer_state reads
// and checks it (checkpoint/trainer_state.h); a state that loads is then restored as a resume does
// (train/session.cpp, Session::restore_state): the LR schedule's step, the data cursor into a
// DataOrder of the record count the cursor names (so restore gets past the count check), and every
// RNG state into a fresh CPU generator (base64, size, torch's own checks of the mt19937 state).
#include <ATen/CPUGeneratorImpl.h>

#include "checkpoint/rng_state.h"
#include "checkpoint/trainer_state.h"
#include "data/data_order.h"
#include "fuzz_support.h"
#include "train/lr_schedule.h"

namespace balcap::fuzz {
namespace {

// The record count a data cursor names, when it is a small positive integer (else 10).
int64_t cursor_records(const nlohmann::json& cursor) {
  const auto it = cursor.is_object() ? cursor.find("num_records") : cursor.end();
  if (it == cursor.end() || !it->is_number_integer()) return 10;
  const int64_t n = it->get<int64_t>();
  return n >= 1 && n <= 4096 ? n : 10;
}

void restore(const checkpoint::TrainerState& state) {
  accepted([&] { (void)train::LrSchedule::step_from_state(state.lr_schedule, "trainer_state.json lr_schedule"); });
  accepted([&] {
    data::DataOrder order(cursor_records(state.data_cursor), 0);
    order.restore(state.data_cursor);
    (void)order.next(3);
  });
  for (const auto& entry : state.rng) {  // name -> base64
    accepted([&] {
      at::Generator generator = at::make_generator<at::CPUGeneratorImpl>();
      checkpoint::restore_generator_state(generator, entry.second, entry.first);
    });
  }
}

}  // namespace

int trainer_state(Bytes input) {
  quiet_logs();
  const auto file = write_scratch("trainer_state/trainer_state.json", as_text(input));
  checkpoint::TrainerState state;
  if (accepted([&] { state = checkpoint::load_trainer_state(file); })) restore(state);
  return 0;
}

}  // namespace balcap::fuzz
