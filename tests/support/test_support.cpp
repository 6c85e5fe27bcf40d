#include "support/test_support.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace balcap::test {

fs::path data_path(const std::string& relative) { return fs::path(kTestDataDir) / relative; }

fs::path reference_path(const std::string& area, const std::string& relative) {
  fs::path p = fs::path(kReferenceDir) / area / relative;
  if (!fs::exists(p)) {
    throw std::runtime_error("missing reference file " + p.string() +
                             " HINT: run the ctest fixture reference_" + area +
                             " (ctest -R reference_" + area + ") or tests/reference/ref_" + area + ".py");
  }
  return p;
}

namespace {

fs::path scratch_dir_of(const ::testing::TestInfo* info) {
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "scratch";
  return fs::path(kBinaryDir) / "test_scratch" / name;
}

// Removes a test's scratch directory when the test passed: the training tests write checkpoints of
// 50-500 MB each, and the suite's 180 tests would otherwise leave ~10 GB behind on a disk that CI
// shares. A failed or skipped test keeps its files to look at; BALCAP_KEEP_SCRATCH=1 keeps them all.
class RemoveScratchOfPassedTests : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    const char* keep = std::getenv("BALCAP_KEEP_SCRATCH");
    if ((keep && std::string(keep) == "1") || !info.result()->Passed() || info.result()->Skipped()) return;
    std::error_code ignored;
    fs::remove_all(scratch_dir_of(&info), ignored);
  }
};

// Registered before gtest_main's main() runs (the listener list outlives InitGoogleTest).
[[maybe_unused]] const bool kScratchCleanupRegistered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new RemoveScratchOfPassedTests);
  return true;
}();

}  // namespace

fs::path scratch_dir() {
  fs::path dir = scratch_dir_of(::testing::UnitTest::GetInstance()->current_test_info());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

CommandResult run_command(const std::string& command) {
  fs::path dir = fs::temp_directory_path() / ("balcap_cmd_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path out_path = dir / "out", err_path = dir / "err";
  std::string full = command + " </dev/null >" + shell_quote(out_path.string()) + " 2>" + shell_quote(err_path.string());
  int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  fs::remove_all(dir);
  return r;
}

CommandResult run_balcap(const std::string& args) {
  return run_command(shell_quote(kBalcapBinary) + " " + args);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace balcap::test
