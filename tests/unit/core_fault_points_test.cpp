// Fault points (src/core/fault_points.h): BALCAP_FAULTS is parsed once per process, so every case
// runs in a fresh process: a gtest death test in the "threadsafe" style re-executes this binary for
// the one statement, which sets the variable before the first hit. A kill must be a real SIGKILL at
// exactly the chosen hit; a malformed entry must be an error that names it.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/fault_points.h"

namespace balcap {
namespace {

using fault::Action;

class CoreFaultPoints : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// In the child: BALCAP_FAULTS=spec, then `body`; exits 0 when it returns true, 1 when not, 3 with
// the message on stderr when it throws balcap::Error.
template <typename Body>
[[noreturn]] void run_with_faults(const char* spec, Body body) {
  if (spec == nullptr) {
    ::unsetenv("BALCAP_FAULTS");
  } else {
    ::setenv("BALCAP_FAULTS", spec, 1);
  }
  try {
    std::exit(body() ? 0 : 1);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    std::exit(3);
  }
}

TEST_F(CoreFaultPoints, UnsetArmsNothingAndEveryHitPasses) {
  EXPECT_EXIT(run_with_faults(nullptr,
                              [] {
                                bool ok = !fault::armed();
                                for (int i = 0; i < 5; ++i) ok = ok && fault::hit("update.micro_batch") == Action::none;
                                return ok;
                              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(CoreFaultPoints, KillSendsSigkillAtTheChosenHitAndNotBefore) {
  EXPECT_EXIT(run_with_faults("test.point:kill@3",
                              [] {
                                fault::hit("test.point");
                                fault::hit("other.point");  // hits are counted per point
                                fault::hit("test.point");
                                std::fprintf(stderr, "two hits passed\n");
                                fault::hit("test.point");
                                std::fprintf(stderr, "the third hit passed\n");
                                return false;
                              }),
              ::testing::KilledBySignal(SIGKILL), "two hits passed");
  // Without @: the first hit.
  EXPECT_EXIT(run_with_faults("test.point:kill",
                              [] {
                                std::fprintf(stderr, "before\n");
                                fault::hit("test.point");
                                return false;
                              }),
              ::testing::KilledBySignal(SIGKILL), "before");
}

TEST_F(CoreFaultPoints, FailAndNanAreReturnedAtTheirHitOnly) {
  EXPECT_EXIT(run_with_faults("a.point:fail@2,b.point:nan",
                              [] {
                                const bool a = fault::hit("a.point") == Action::none &&
                                               fault::hit("a.point") == Action::fail &&
                                               fault::hit("a.point") == Action::none;
                                const bool b = fault::hit("b.point") == Action::nan && fault::hit("b.point") == Action::none;
                                return fault::armed() && a && b && fault::hit("c.point") == Action::none;
                              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(CoreFaultPoints, AMalformedEntryIsAnErrorNamingIt) {
  const struct {
    const char* spec;
    const char* message;  // a regular expression on the child's stderr
  } cases[] = {
      {"nocolon", "entry 'nocolon' is not <point>:<action>"},
      {":kill", "entry ':kill' is not <point>:<action>"},
      {"a.point:explode", "entry 'a.point:explode': unknown action 'explode'"},
      {"a.point:kill@0", "entry 'a.point:kill@0': the hit after '@' must be a positive integer"},
      {"a.point:kill@x", "entry 'a.point:kill@x': the hit after '@' must be a positive integer"},
      {"a.point:kill@", "entry 'a.point:kill@': the hit after '@' must be a positive integer"},
      {"a.point:kill@2x", "entry 'a.point:kill@2x': the hit after '@' must be a positive integer"},
      {"a.point:kill@2,bad", "entry 'bad' is not <point>:<action>"},  // the bad one of several
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.spec);
    EXPECT_EXIT(run_with_faults(c.spec, [] { return fault::hit("a.point") == Action::none; }),
                ::testing::ExitedWithCode(3), std::string("BALCAP_FAULTS ") + c.message);
  }
}

}  // namespace
}  // namespace balcap
