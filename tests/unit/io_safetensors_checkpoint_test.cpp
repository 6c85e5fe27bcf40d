// Opening model directories: sharded index, single file, and the directories balcap refuses.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"
#include "support/test_support.h"

namespace balcap {
namespace {
namespace fs = std::filesystem;
using test::scratch_dir;

std::string open_error(const fs::path& path) {
  try {
    io::SafetensorsCheckpoint checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "opening " << path << " should have failed";
  return "";
}

// A 3-shard checkpoint of three small tensors, written by balcap (read back by python elsewhere).
fs::path three_shards() {
  const fs::path dir = scratch_dir() / "model";
  io::save_sharded_safetensors(dir, {{"a.weight", at::ones({4})}, {"b.weight", at::ones({4})}, {"c.weight", at::ones({4})}}, 16);
  return dir;
}

TEST(SafetensorsCheckpoint, MissingShardNamesTheFileAndATensorItShouldHold) {
  const fs::path dir = three_shards();
  fs::remove(dir / "model-00002-of-00003.safetensors");
  const std::string message = open_error(dir);
  EXPECT_NE(message.find("model-00002-of-00003.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("b.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
}

TEST(SafetensorsCheckpoint, IndexPlacingATensorInTheWrongShardNamesTheTensor) {
  const fs::path dir = three_shards();
  std::string index = test::read_file(dir / "model.safetensors.index.json");
  const std::string entry = "\"c.weight\": \"model-00003-of-00003";
  const auto pos = index.find(entry);
  ASSERT_NE(pos, std::string::npos);
  index.replace(pos, entry.size(), "\"c.weight\": \"model-00001-of-00003");
  test::write_file(dir / "model.safetensors.index.json", index);
  const std::string message = open_error(dir);
  EXPECT_NE(message.find("c.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("model-00001-of-00003.safetensors"), std::string::npos) << message;
}

TEST(SafetensorsCheckpoint, ShardPathsLeavingTheDirectoryAreRefused) {
  const fs::path dir = scratch_dir();
  test::write_file(dir / "model.safetensors.index.json", R"({"weight_map": {"w": "../../etc/passwd"}})");
  const std::string message = open_error(dir);
  EXPECT_NE(message.find("../../etc/passwd"), std::string::npos) << message;
}

TEST(SafetensorsCheckpoint, BrokenIndexJsonNamesTheLine) {
  const fs::path dir = scratch_dir();
  test::write_file(dir / "model.safetensors.index.json", "{\n  \"weight_map\": {\n    \"w\": \"x\",\n  }\n}\n");
  const std::string message = open_error(dir);
  EXPECT_NE(message.find("model.safetensors.index.json"), std::string::npos) << message;
  EXPECT_NE(message.find("line 4"), std::string::npos) << message;
}

TEST(SafetensorsCheckpoint, PickleOnlyDirectoryIsRefusedWithConversionAdvice) {
  const fs::path dir = scratch_dir();
  test::write_file(dir / "pytorch_model.bin", "not loaded");
  test::write_file(dir / "config.json", "{}");
  const std::string message = open_error(dir);
  EXPECT_NE(message.find("pytorch_model.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("safe_serialization=True"), std::string::npos) << message;
  EXPECT_NE(message.find(dir.string()), std::string::npos) << message;
}

TEST(SafetensorsCheckpoint, DirectoryWithoutWeightsSaysWhatIsMissing) {
  const std::string message = open_error(scratch_dir());
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
}

TEST(SafetensorsCheckpoint, SingleFileDirectoryListsItsTensors) {
  const fs::path dir = scratch_dir();
  io::save_safetensors(dir / "model.safetensors", {{"z", at::zeros({2}, at::kBFloat16)}, {"a", at::ones({1, 3})}});
  io::SafetensorsCheckpoint checkpoint(dir);
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"a", "z"}));
  EXPECT_EQ(checkpoint.info("z").dtype, io::SafetensorsDtype::BF16);
  EXPECT_EQ(checkpoint.info("a").shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(checkpoint.file_of("a"), dir / "model.safetensors");
  EXPECT_FALSE(checkpoint.contains("b"));
  EXPECT_THROW(checkpoint.tensor("b"), Error);
}

TEST(SafetensorsWriter, DuplicateNamesAndUnsupportedDtypesAreRefusedNamingTheTensor) {
  const fs::path path = scratch_dir() / "bad.safetensors";
  try {
    io::save_safetensors(path, {{"w", at::ones({1})}, {"w", at::ones({1})}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos);
  }
  try {
    io::save_safetensors(path, {{"c", at::ones({1}, at::kComplexFloat)}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'c'"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(path));  // nothing half-written under the final name
}

TEST(SafetensorsWriter, AnInterruptedWriteLeavesThePreviousFileUntouched) {
  const fs::path path = test::scratch_dir() / "model.safetensors";
  io::save_safetensors(path, {{"w", at::ones({2})}});
  const std::string before = test::read_file(path);
  {
    io::AtomicFileWriter writer(path);  // as a crash mid-save: bytes written, never committed
    writer.write("partial", 7);
  }
  EXPECT_EQ(test::read_file(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(path.parent_path()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace balcap
