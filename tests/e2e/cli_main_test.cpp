// The `balcap` binary's entry point: version, help, and exit codes for usage errors.
#include <gtest/gtest.h>

#include "support/test_support.h"

using balcap::test::run_balcap;

TEST(CliMain, VersionPrintsTheProjectVersion) {
  auto r = run_balcap("--version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("balcap ") + BALCAP_VERSION), std::string::npos) << r.out;
}

TEST(CliMain, HelpListsEverySubcommand) {
  auto r = run_balcap("help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* command : {"tokenize", "preprocess", "config"}) {
    EXPECT_NE(r.out.find(command), std::string::npos) << "help lacks " << command << ":\n" << r.out;
  }
}

TEST(CliMain, UnknownSubcommandIsAUsageErrorWithExitCode2) {
  auto r = run_balcap("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;
}

TEST(CliMain, NoSubcommandIsAUsageErrorWithExitCode2) {
  auto r = run_balcap("");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
}

TEST(CliMain, UnknownOptionNamesTheOption) {
  auto r = run_balcap("tokenize --no-such-flag");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
}
