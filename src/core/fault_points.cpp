#include "core/fault_points.h"

#include <signal.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"

namespace balcap::fault {
namespace {

enum class Kind { kill, fail, nan };

struct Arm {
  Kind kind;
  long hit = 1;  // fires at this hit only
};

struct Table {
  std::map<std::string, Arm, std::less<>> arms;
  std::map<std::string, long, std::less<>> hits;
  std::mutex mutex;
};

Kind parse_kind(const std::string& action, const std::string& entry) {
  if (action == "kill") return Kind::kill;
  if (action == "fail") return Kind::fail;
  if (action == "nan") return Kind::nan;
  fail("BALCAP_FAULTS entry '{}': unknown action '{}'. HINT: use kill, fail or nan, e.g. checkpoint.files_written:kill@2",
       entry, action);
}

// "point:action[@hit]" -> the table entry.
void parse_entry(const std::string& entry, Table& t) {
  const auto colon = entry.find(':');
  BALCAP_CHECK(colon != std::string::npos && colon > 0,
               "BALCAP_FAULTS entry '{}' is not <point>:<action>[@<hit>]. HINT: e.g. update.loss:nan@3", entry);
  std::string action = entry.substr(colon + 1);
  long hit = 1;
  if (const auto at = action.find('@'); at != std::string::npos) {
    char* end = nullptr;
    hit = std::strtol(action.c_str() + at + 1, &end, 10);
    BALCAP_CHECK(end != nullptr && *end == '\0' && hit >= 1 && at + 1 < action.size(),
                 "BALCAP_FAULTS entry '{}': the hit after '@' must be a positive integer", entry);
    action.resize(at);
  }
  t.arms[entry.substr(0, colon)] = Arm{parse_kind(action, entry), hit};
}

Table* load() {
  const char* env = std::getenv("BALCAP_FAULTS");
  if (env == nullptr || *env == '\0') return nullptr;
  // Owned here until parsed, so a malformed entry's error does not leak it (LeakSanitizer,
  // scripts/sanitize); released below to live for the process: points may be hit during static
  // destruction.
  auto t = std::make_unique<Table>();
  std::string spec(env);
  std::size_t begin = 0;
  while (begin <= spec.size()) {
    const auto comma = std::min(spec.find(',', begin), spec.size());
    if (comma > begin) parse_entry(spec.substr(begin, comma - begin), *t);
    begin = comma + 1;
  }
  spdlog::warn("BALCAP_FAULTS = '{}': fault points armed (a test run, not a training run)", spec);
  return t.release();
}

Table* table() {
  static Table* t = load();
  return t;
}

}  // namespace

bool armed() { return table() != nullptr; }

const std::vector<std::string_view>& placed_points() {
  static const std::vector<std::string_view> points{
      "sampling.decode_step",      // sampling/sampler.cpp: each decode step (kill: during the rollout)
      "scoring.objective",         // rewards/score_captions.cpp: each objective of a step (kill: during scoring)
      "update.micro_batch",        // train/update_phase.cpp: after each micro-batch's backward (kill)
      "update.loss",               // train/update_phase.cpp: nan poisons a micro-batch's loss
      "update.grad",               // train/update_phase.cpp: nan poisons one parameter's gradient
      "checkpoint.files_written",  // checkpoint/checkpointer.cpp: files written, not marked (kill, fail)
      "checkpoint.renamed",        // checkpoint/checkpointer.cpp: renamed, before COMPLETE (kill)
  };
  return points;
}

void check_armed_points() {
  Table* t = table();
  if (t == nullptr) return;
  const auto& known = placed_points();
  for (const auto& [point, arm] : t->arms) {
    BALCAP_CHECK(std::find(known.begin(), known.end(), point) != known.end(),
                 "BALCAP_FAULTS names the point '{}', which balcap does not have (it would never fire).\n"
                 "HINT: the points are {}",
                 point, fmt::join(known, ", "));
  }
}

Action hit(std::string_view point) {
  Table* t = table();
  if (t == nullptr) return Action::none;
  std::lock_guard lock(t->mutex);
  const long n = ++t->hits[std::string(point)];
  const auto it = t->arms.find(point);
  if (it == t->arms.end() || it->second.hit != n) return Action::none;
  switch (it->second.kind) {
    case Kind::kill:
      spdlog::default_logger()->flush();
      ::kill(::getpid(), SIGKILL);
      ::pause();  // SIGKILL is delivered before this returns
      std::abort();
    case Kind::fail:
      return Action::fail;
    case Kind::nan:
      return Action::nan;
  }
  return Action::none;
}

}  // namespace balcap::fault
