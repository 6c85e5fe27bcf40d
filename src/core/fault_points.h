#pragma once
// Fault points: named places in balcap where the reliability tests (docs/reliability.md,
// scripts/stress_resume) make the process die, an operation fail or a value go non-finite, at a
// chosen hit. Armed only by the environment variable BALCAP_FAULTS; when it is unset (every normal
// run) a point costs one load of a bool.
//
//   BALCAP_FAULTS="<point>:<action>[@<hit>][,...]"    e.g. "checkpoint.files_written:kill@2,update.loss:nan"
//   action  kill  the process sends itself SIGKILL (no destructors, no flush: a real crash)
//           fail  the caller fails as it would on the real fault (e.g. a write that hits a full disk)
//           nan   the caller makes the value it computes at this point NaN
//   hit     the 1-based count of times this process reached the point at which the action fires
//           (default 1); the other hits pass.
// The points (each documented where it is reached): docs/reliability.md lists them.
#include <string_view>
#include <vector>

namespace balcap::fault {

enum class Action { none, fail, nan };  // kill never returns

// Records one hit at `point` and returns what the caller must do for it (none when not armed).
// A malformed BALCAP_FAULTS throws balcap::Error naming the entry.
Action hit(std::string_view point);

// True when BALCAP_FAULTS arms anything (parsed once per process).
bool armed();

// The points placed in balcap (each documented where it is reached; docs/reliability.md).
const std::vector<std::string_view>& placed_points();

// Parses BALCAP_FAULTS now and checks that every armed point is a placed one: the CLI calls it at
// start, so a malformed entry or a misspelt point fails before any model loads instead of arming
// nothing. Throws balcap::Error naming the entry and listing the points.
void check_armed_points();

}  // namespace balcap::fault
