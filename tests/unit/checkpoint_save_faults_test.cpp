// Checkpoints and disk faults (docs/resume.md "When a save fails"): a save the kernel refuses (a file
// over RLIMIT_FSIZE: EFBIG, the same path as a full disk's ENOSPC) fails with the directory, the
// kernel's reason and the checkpoint left, and leaves nothing behind; `--resume auto` passes over
// incomplete and temporary directories and says why; a run directory that cannot be written is
// refused with its path.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <csignal>
#include <sstream>

#include "checkpoint/checkpointer.h"
#include "checkpoint/resume.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "support/test_support.h"

namespace balcap::checkpoint {
namespace {

namespace fs = std::filesystem;
using test::scratch_dir;
using test::write_file;

// While alive, this process may not write a regular file past `bytes` (RLIMIT_FSIZE); with SIGXFSZ
// ignored such a write fails with EFBIG instead of killing the process. Restored on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = SIG_DFL;
};

// A save whose payload is one file of `bytes` bytes, written as the real writers write (checked writes).
fs::path save_bytes(Checkpointer& ckpt, int64_t step, std::size_t bytes) {
  return ckpt.save(step, [&](const fs::path& dir) {
    io::write_file_atomically(dir / "weights.bin", std::string(bytes, 'w'));
  });
}

// The error text of `f`, or "" when it did not throw balcap::Error.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Names under checkpoints/ (complete, incomplete and temporary alike).
std::vector<std::string> entries(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(root)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SaveFaults, AFailingWriterNamesTheDirectoryTheReasonAndTheCheckpointLeft) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  save_bytes(ckpt, 1, 10);
  const std::string msg = error_of([&] {
    ckpt.save(2, [](const fs::path& dir) {
      fail("{}: writing failed: No space left on device. HINT: x", dir.string());
    });
  });
  EXPECT_NE(msg.find(ckpt.step_dir(2).string() + ": the checkpoint of step 2 could not be written"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
  EXPECT_NE(msg.find(ckpt.step_dir(1).string() + ", is untouched"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("HINT"), msg.rfind("HINT")) << "one HINT, the save's: " << msg;
  EXPECT_EQ(entries(ckpt.root()), (std::vector<std::string>{"step-1"}));
  EXPECT_TRUE(is_complete(ckpt.step_dir(1)));
}

TEST(SaveFaults, AFileOverTheSizeLimitFailsTheSaveWithTheKernelsReasonAndLeavesNothing) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 1);
  save_bytes(ckpt, 1, 10);
  std::string msg;
  {
    const FileSizeLimit limit(4096);
    msg = error_of([&] { save_bytes(ckpt, 2, 8192); });
  }
  EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;  // EFBIG, from write(2)
  EXPECT_NE(msg.find("weights.bin"), std::string::npos) << msg;
  EXPECT_EQ(entries(ckpt.root()), (std::vector<std::string>{"step-1"}));
  // The next save, with room again, works and prunes to keep_last 1.
  save_bytes(ckpt, 3, 8192);
  EXPECT_EQ(entries(ckpt.root()), (std::vector<std::string>{"step-3"}));
}

TEST(SaveFaults, AMarkerTheKernelRefusesRemovesTheRenamedDirectory) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  save_bytes(ckpt, 1, 10);
  std::string msg;
  {
    // The 10-byte payload fits; COMPLETE (its JSON lists the file: ~40 bytes) does not, so the save
    // fails after step-2/ got its name.
    const FileSizeLimit limit(24);
    msg = error_of([&] { save_bytes(ckpt, 2, 10); });
  }
  EXPECT_NE(msg.find("COMPLETE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
  EXPECT_EQ(entries(ckpt.root()), (std::vector<std::string>{"step-1"}));
}

TEST(SaveFaults, AFailedResaveOfAStepKeepsItsCompleteCheckpoint) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  save_bytes(ckpt, 2, 10);
  EXPECT_FALSE(error_of([&] { ckpt.save(2, [](const fs::path&) { fail("disk full"); }); }).empty());
  EXPECT_TRUE(is_complete(ckpt.step_dir(2)));
}

TEST(ResumeAuto, PassesOverIncompleteAndTemporaryDirectoriesAndSaysWhy) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  for (int64_t step : {1, 2, 3}) save_bytes(ckpt, step, 10);
  write_file(ckpt.step_dir(2) / "weights.bin", "short");      // truncated later
  fs::remove(ckpt.step_dir(3) / kCompleteMarker);             // killed before the marker
  fs::create_directories(ckpt.root() / ".step-4.tmp-99999");  // killed while writing
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  const auto picked = resolve_resume("auto", run);
  spdlog::default_logger()->sinks().pop_back();
  ASSERT_TRUE(picked.has_value());
  EXPECT_EQ(*picked, ckpt.step_dir(1));
  const std::string text = log.str();
  for (const char* expected : {"step-3: no COMPLETE marker", "step-2: weights.bin has 5 bytes, COMPLETE records 10",
                               ".step-4.tmp-99999: a temporary directory"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " in:\n" << text;
  }
  const CheckpointScan scan = ckpt.scan();
  EXPECT_EQ(scan.complete.size(), 1u);
  EXPECT_EQ(scan.skipped.size(), 3u);
}

TEST(RunDir, AWritableDirectoryIsAcceptedAndKeepsNoProbe) {
  const auto run = scratch_dir() / "run";
  require_writable_run_dir(run);
  EXPECT_TRUE(fs::is_directory(run / "checkpoints"));
  EXPECT_EQ(entries(run), (std::vector<std::string>{"checkpoints"}));
  EXPECT_TRUE(fs::is_empty(run / "checkpoints"));
}

TEST(RunDir, ADirectoryThatCannotBeCreatedIsRefusedWithItsPath) {
  const auto dir = scratch_dir();
  write_file(dir / "file", "x");  // a regular file where the run directory's parent should be
  const fs::path run = dir / "file" / "run";
  const std::string msg = error_of([&] { require_writable_run_dir(run); });
  EXPECT_NE(msg.find("run directory " + run.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("Not a directory"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HINT"), std::string::npos) << msg;
}

}  // namespace
}  // namespace balcap::checkpoint
