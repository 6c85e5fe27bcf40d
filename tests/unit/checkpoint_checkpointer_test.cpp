// Checkpointer: atomic step-N directories, COMPLETE, discovery, keep-last-N, resume resolution and
// the config-hash check; TrainerState and RNG state round trips.
#include <gtest/gtest.h>

#include <fstream>

#include "checkpoint/checkpointer.h"
#include "checkpoint/resume.h"
#include "checkpoint/rng_state.h"
#include "checkpoint/trainer_state.h"
#include "config/demo_config.h"
#include "config/save.h"
#include "core/error.h"
#include "support/test_support.h"

namespace balcap::checkpoint {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::scratch_dir;
using test::write_file;

config::Config small_config() { return config::demo_config({"train.run_dir=unused"}); }

// A save whose payload is a trainer state, a config snapshot and one "weights" file.
fs::path save_step(Checkpointer& ckpt, int64_t step, const config::Config& cfg = small_config()) {
  return ckpt.save(step, [&](const fs::path& dir) {
    TrainerState s;
    s.step = step;
    s.config_hash = resume_config_hash(cfg);
    save_trainer_state(trainer_state_file(dir), s);
    config::save_config(cfg, config_file(dir));
    fs::create_directories(model_dir(dir));
    write_file(model_dir(dir) / "model.safetensors", std::string(100 + step, 'w'));
  });
}

TEST(Checkpointer, SavedCheckpointIsCompleteAndNewestIsPicked) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  EXPECT_FALSE(ckpt.latest_complete().has_value());
  save_step(ckpt, 2);
  const auto dir = save_step(ckpt, 5);
  EXPECT_EQ(dir, run / "checkpoints" / "step-5");
  EXPECT_TRUE(is_complete(dir));
  ASSERT_TRUE(ckpt.latest_complete().has_value());
  EXPECT_EQ(ckpt.latest_complete()->step, 5);
  EXPECT_EQ(ckpt.list_complete().size(), 2u);
  // No temporary directory is left behind.
  for (const auto& e : fs::directory_iterator(ckpt.root()))
    EXPECT_EQ(e.path().filename().string().rfind(".", 0), std::string::npos) << e.path();
}

TEST(Checkpointer, CheckpointWithoutCompleteMarkerIsIgnored) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  save_step(ckpt, 3);
  const auto newer = save_step(ckpt, 4);
  fs::remove(newer / kCompleteMarker);  // a crash after the rename, before the marker
  std::string why;
  EXPECT_FALSE(is_complete(newer, &why));
  EXPECT_NE(why.find("COMPLETE"), std::string::npos) << why;
  EXPECT_EQ(ckpt.latest_complete()->step, 3);
  EXPECT_EQ(*resolve_resume("auto", run), run / "checkpoints" / "step-3");
}

TEST(Checkpointer, HalfWrittenTemporaryDirectoryIsIgnoredAndLaterRemoved) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  save_step(ckpt, 1);
  // A run killed while writing step 2: only the temporary sibling exists, even with a marker copied in.
  const auto tmp = ckpt.root() / ".step-2.tmp-99999";
  fs::create_directories(tmp / "model");
  write_file(tmp / "trainer_state.json", "{\"step\": 2");
  fs::copy_file(ckpt.step_dir(1) / kCompleteMarker, tmp / kCompleteMarker);
  EXPECT_EQ(ckpt.latest_complete()->step, 1);
  save_step(ckpt, 3);
  EXPECT_FALSE(fs::exists(tmp));
}

TEST(Checkpointer, TruncatedFileMakesTheCheckpointIncomplete) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  save_step(ckpt, 1);
  const auto dir = save_step(ckpt, 2);
  write_file(model_dir(dir) / "model.safetensors", "short");
  std::string why;
  EXPECT_FALSE(is_complete(dir, &why));
  EXPECT_NE(why.find("model/model.safetensors"), std::string::npos) << why;
  EXPECT_EQ(ckpt.latest_complete()->step, 1);
  EXPECT_THROW(resolve_resume(dir.string(), run), Error);
}

TEST(Checkpointer, KeepLastPrunesOnlyOlderCompleteCheckpoints) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 2);
  save_step(ckpt, 1);
  const auto partial = save_step(ckpt, 2);
  fs::remove(partial / kCompleteMarker);  // incomplete: not counted, removed once older than a save
  save_step(ckpt, 3);
  EXPECT_FALSE(fs::exists(partial));
  save_step(ckpt, 4);
  std::vector<int64_t> steps;
  for (const auto& c : ckpt.list_complete()) steps.push_back(c.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{3, 4}));
}

TEST(Checkpointer, SavingAnEarlierStepRemovesTheAbandonedLaterCheckpoints) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 3);
  for (int64_t step : {2, 4, 6}) save_step(ckpt, step);
  // The run was resumed from step-2 (--resume PATH) and now saves step 3: steps 4 and 6 belong to the
  // abandoned trajectory and would otherwise win `--resume auto`.
  const auto three = save_step(ckpt, 3);
  EXPECT_TRUE(is_complete(three));
  EXPECT_FALSE(fs::exists(ckpt.step_dir(4)));
  EXPECT_FALSE(fs::exists(ckpt.step_dir(6)));
  EXPECT_EQ(*resolve_resume("auto", run), three);
  EXPECT_TRUE(fs::exists(ckpt.step_dir(2)));
}

TEST(Checkpointer, SavingTheSameStepAgainReplacesIt) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  save_step(ckpt, 3);
  const auto dir = ckpt.save(3, [](const fs::path& d) { write_file(d / "trainer_state.json", "{}"); });
  EXPECT_TRUE(is_complete(dir));
  EXPECT_FALSE(fs::exists(model_dir(dir)));
}

TEST(Checkpointer, FailingWriterLeavesNothingBehind) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  EXPECT_THROW(ckpt.save(1, [](const fs::path&) { fail("disk full"); }), Error);
  EXPECT_TRUE(fs::is_empty(ckpt.root()));
}

TEST(Resume, NoneStartsFreshAndAutoWithoutCheckpointsStartsFresh) {
  const auto run = scratch_dir();
  EXPECT_FALSE(resolve_resume("none", run).has_value());
  EXPECT_FALSE(resolve_resume("auto", run).has_value());
}

TEST(Resume, PathMayNameACheckpointOrARunDirectory) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  const auto two = save_step(ckpt, 2);
  save_step(ckpt, 7);
  EXPECT_EQ(*resolve_resume(two.string(), "elsewhere"), two);
  EXPECT_EQ(*resolve_resume(run.string(), "elsewhere"), ckpt.step_dir(7));
  EXPECT_EQ(*resolve_resume((run / "checkpoints").string(), "elsewhere"), ckpt.step_dir(7));
  EXPECT_THROW(resolve_resume((run / "nope").string(), run), Error);
}

TEST(Resume, ConfigHashMismatchIsRefusedWithoutForceAndNamesTheKeys) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  const auto dir = save_step(ckpt, 3);
  const config::Config changed = config::demo_config({"train.run_dir=unused", "optim.lr=0.5", "train.seed=7"});
  try {
    load_for_resume(dir, changed, /*force=*/false);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("optim.lr"), std::string::npos) << msg;
    EXPECT_NE(msg.find("train.seed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--resume-force"), std::string::npos) << msg;
  }
  EXPECT_EQ(load_for_resume(dir, changed, /*force=*/true).step, 3);
}

TEST(Resume, RunControlKeysDoNotChangeTheHash) {
  const auto run = scratch_dir();
  Checkpointer ckpt(run, 0);
  const auto dir = save_step(ckpt, 3);
  const config::Config moved = config::demo_config(
      {"train.run_dir=elsewhere", "checkpoint.keep_last=9", "checkpoint.resume=none", "logging.level=debug"});
  EXPECT_EQ(load_for_resume(dir, moved, /*force=*/false).step, 3);
  EXPECT_TRUE(resume_config_changes(dir, moved).empty());
}

TEST(TrainerStateFile, RoundTripKeepsEveryField) {
  const auto dir = scratch_dir();
  TrainerState s;
  s.step = 12;
  s.epoch = 2;
  s.data_cursor = {{"epoch", 2}, {"position", 17}, {"seed", 42}};
  s.rng = {{"torch_cpu", base64_encode(std::string("\x00\x01\xff", 3))}, {"sampler", "123"}};
  s.lr_schedule = {{"step", 12}};
  s.world_size = 4;
  s.config_hash = "0123456789abcdef";
  s.extra = {{"bad_steps", 1}, {"tokens", 123456789012LL}};
  save_trainer_state(dir / "trainer_state.json", s);
  EXPECT_EQ(load_trainer_state(dir / "trainer_state.json"), s);
}

TEST(TrainerStateFile, MissingKeyNamesTheFileAndKey) {
  const auto dir = scratch_dir();
  write_file(dir / "trainer_state.json", R"({"format": 1, "step": 3})");
  try {
    load_trainer_state(dir / "trainer_state.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'epoch'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("trainer_state.json"), std::string::npos) << e.what();
  }
}

TEST(RngState, Base64MatchesKnownVectors) {
  // RFC 4648 §10 test vectors.
  const std::vector<std::pair<std::string, std::string>> cases = {{"", ""},
                                                                  {"f", "Zg=="},
                                                                  {"fo", "Zm8="},
                                                                  {"foo", "Zm9v"},
                                                                  {"foob", "Zm9vYg=="},
                                                                  {"fooba", "Zm9vYmE="},
                                                                  {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : cases) {
    EXPECT_EQ(base64_encode(plain), coded);
    EXPECT_EQ(base64_decode(coded, "test"), plain);
  }
  EXPECT_THROW(base64_decode("Zm9*", "test"), Error);
  EXPECT_THROW(base64_decode("Zm9", "test"), Error);
}

TEST(RngState, RestoredCpuGeneratorContinuesTheSameStream) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  (void)at::randn({7}, gen);  // leave a cached normal and an advanced stream
  const auto saved = generator_state_base64(gen);
  const auto expected = at::randn({5}, gen);
  auto other = at::make_generator<at::CPUGeneratorImpl>(1);
  restore_generator_state(other, saved, "torch_cpu");
  EXPECT_TRUE(at::equal(at::randn({5}, other), expected));
  EXPECT_THROW(restore_generator_state(other, base64_encode("short"), "torch_cpu"), Error);
}

// Found by fuzzing: a state of the right size that the generator refuses (all zero bytes) is a
// clear error naming the state, not torch's exception ("internal error").
TEST(RngState, AStateOfTheRightSizeTheGeneratorRefusesIsAClearError) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const std::string zeros(static_cast<std::size_t>(gen.get_state().numel()), '\0');
  try {
    restore_generator_state(gen, base64_encode(zeros), "torch_cpu");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("torch_cpu: the saved RNG state is not a valid"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos) << e.what();
  }
}

TEST(RngState, DefaultGeneratorStatesRestoreDropoutMasks) {
  const auto states = default_generator_states();
  ASSERT_EQ(states.count("torch_cpu"), 1u);
  const auto expected = at::dropout(at::ones({64}), 0.5, /*train=*/true);
  (void)at::rand({9});  // move the default stream on
  restore_default_generator_states(states);
  EXPECT_TRUE(at::equal(at::dropout(at::ones({64}), 0.5, /*train=*/true), expected));
}

}  // namespace
}  // namespace balcap::checkpoint
