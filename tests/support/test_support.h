#pragma once
// Helpers shared by the test binaries: paths to data/references, scratch directories, and
// running a command (the CLI, python) to capture its output and exit code.
#include <filesystem>
#include <string>

#include "balcap_test/test_paths.h"

namespace balcap::test {

namespace fs = std::filesystem;

// tests/data/<relative>
fs::path data_path(const std::string& relative);
// build/reference/<area>/<relative>; fails the test (throws) with a hint when missing.
fs::path reference_path(const std::string& area, const std::string& relative);
// A fresh empty directory under the build tree, unique per test; removed when the test passes
// (kept when it fails or is skipped, or under BALCAP_KEEP_SCRATCH=1), and at the test's next run.
fs::path scratch_dir();

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs `command` through /bin/sh; stdin from /dev/null.
CommandResult run_command(const std::string& command);
// Runs build/bin/balcap with `args` (already shell-quoted where needed).
CommandResult run_balcap(const std::string& args);
// Single-quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick for an ephemeral bind).
int free_port();
// Whole file as bytes.
std::string read_file(const fs::path& path);
void write_file(const fs::path& path, const std::string& bytes);

}  // namespace balcap::test
