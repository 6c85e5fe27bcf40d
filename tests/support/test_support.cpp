#include "support/test_support.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
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

fs::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "scratch";
  fs::path dir = fs::path(kBinaryDir) / "test_scratch" / name;
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
