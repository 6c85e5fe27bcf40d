#pragma once
// `balcap serve --port 0` as a child process for e2e tests (the remote judge, `balcap recaption`
// against an endpoint): started in the constructor, its URL read from the "listening on" line,
// SIGTERM'd in the destructor. Its stderr goes to serve.log in `log_dir` (default: the test's scratch
// directory, which scratch_dir() empties first: pass it when the test keeps files there).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/test_support.h"

namespace balcap::test {

class ServeProcess {
 public:
  explicit ServeProcess(const std::filesystem::path& model_dir, const std::string& extra_args = "",
                        const std::filesystem::path& log_dir = {}) {
    log_ = (log_dir.empty() ? scratch_dir() : log_dir) / "serve.log";
    std::string cmd = "echo $$; exec " + shell_quote(kBalcapBinary) + " serve --model " +
                      shell_quote(model_dir.string()) + " --port 0 --served-model-name judge " + extra_args + " 2>" +
                      shell_quote(log_.string());
    pipe_ = ::popen(cmd.c_str(), "r");
    char line[512];
    if (pipe_ && std::fgets(line, sizeof(line), pipe_)) pid_ = std::atoi(line);
    while (pipe_ && std::fgets(line, sizeof(line), pipe_)) {
      std::string text(line);
      auto at = text.find("listening on ");
      if (at != std::string::npos) {
        url_ = text.substr(at + 13);
        url_.erase(url_.find_last_not_of("\n\r") + 1);
        return;
      }
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    if (pipe_) ::pclose(pipe_);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  // "" when the server did not start (the log says why).
  const std::string& url() const { return url_; }
  std::string log() const { return std::filesystem::exists(log_) ? read_file(log_) : ""; }

 private:
  FILE* pipe_ = nullptr;
  int pid_ = -1;
  std::string url_;
  std::filesystem::path log_;
};

}  // namespace balcap::test
