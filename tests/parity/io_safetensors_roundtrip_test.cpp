// Round trips with the python libraries: files balcap writes are loaded by safetensors.torch (and
// by transformers for a model directory) and must hold exactly the tensors balcap meant; a
// checkpoint transformers sharded is read back tensor for tensor.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "io/model_family.h"
#include "io/safetensors_checkpoint.h"
#include "io/safetensors_writer.h"
#include "support/tensor_bytes.h"
#include "support/test_support.h"

namespace balcap {
namespace {
namespace fs = std::filesystem;
using test::reference_path;
using test::hex_of;
using test::scratch_dir;

// The python side's view of `path` (ref_io.py --digest): per tensor dtype, shape and raw bytes.
nlohmann::json python_digest(const fs::path& path) {
  const fs::path script = fs::path(test::kSourceDir) / "tests" / "reference" / "ref_io.py";
  const auto result = test::run_command(test::shell_quote(test::kPython) + " " + test::shell_quote(script.string()) +
                                        " --digest " + test::shell_quote(path.string()));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

void expect_same_tensors(const io::NamedTensors& intended, const nlohmann::json& loaded) {
  ASSERT_EQ(loaded.size(), intended.size());
  for (const auto& [name, tensor] : intended) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(loaded.contains(name));
    EXPECT_EQ(loaded[name]["shape"].get<std::vector<int64_t>>(), tensor.sizes().vec());
    EXPECT_EQ(loaded[name]["hex"].get<std::string>(), hex_of(tensor));
  }
}

// One tensor per dtype, including a non-contiguous view, a scalar and an empty tensor.
io::NamedTensors every_dtype() {
  at::manual_seed(3);
  const at::Tensor base = at::randn({4, 6});
  return {
      {"f32.transposed", base.t()},  // non-contiguous: saved as its contiguous copy
      {"f64", at::randn({5}, at::kDouble)},
      {"f16", at::randn({2, 3}).to(at::kHalf)},
      {"bf16", at::randn({3, 2}).to(at::kBFloat16)},
      {"i64", at::tensor({int64_t(1) << 62, int64_t(-7)}, at::kLong)},
      {"i32", at::arange(-3, 4, at::kInt)},
      {"i16", at::arange(-2, 2, at::kShort)},
      {"i8", at::arange(-4, 1, at::kChar)},
      {"u8", at::arange(250, 256, at::kInt).to(at::kByte)},
      {"bool", at::tensor({1, 0, 1}, at::kInt).to(at::kBool)},
      {"scalar", at::scalar_tensor(2.5)},
      {"empty", at::zeros({0, 3})},
  };
}

TEST(SafetensorsRoundTrip, PythonLoadsEveryDtypeBalcapWrote) {
  const fs::path path = scratch_dir() / "all.safetensors";
  const io::NamedTensors tensors = every_dtype();
  io::save_safetensors(path, tensors, {{"step", "7"}});
  const nlohmann::json digest = python_digest(path);
  expect_same_tensors(tensors, digest["tensors"]);
  const auto& meta = digest["files"]["all.safetensors"]["metadata"];
  EXPECT_EQ(meta["step"], "7");
  EXPECT_EQ(meta["format"], "pt");
  EXPECT_FALSE(fs::exists(path.string() + ".tmp." + std::to_string(::getpid())));
}

TEST(SafetensorsRoundTrip, ShardedCheckpointFromTransformersReadsTensorForTensor) {
  const nlohmann::json expected = nlohmann::json::parse(test::read_file(reference_path("io", "sharded.json")));
  io::SafetensorsCheckpoint checkpoint(reference_path("io", "sharded"));
  EXPECT_EQ(checkpoint.files().size(), 5u);
  ASSERT_EQ(checkpoint.names().size(), expected.size());
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(checkpoint.contains(name));
    EXPECT_EQ(checkpoint.info(name).dtype, io::SafetensorsDtype::BF16);
    const at::Tensor t = checkpoint.tensor(name);
    EXPECT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(hex_of(t), want["hex"].get<std::string>());
  }
  EXPECT_EQ(io::detect_family(reference_path("io", "sharded")), io::ModelFamily::qwen2);
}

TEST(SafetensorsRoundTrip, TransformersLoadsAModelBalcapReshardedAsHuggingfaceHubWould) {
  // Read the transformers checkpoint, re-save it with balcap in 3000-byte shards (state-dict order)
  // next to its config: the split must equal huggingface_hub's, and transformers' from_pretrained
  // must load every weight back bit-exact.
  const nlohmann::json plan = nlohmann::json::parse(test::read_file(reference_path("io", "shard_plan.json")));
  io::SafetensorsCheckpoint source(reference_path("io", "sharded"));
  io::NamedTensors tensors;
  for (const auto& name : plan["order"]) tensors.emplace_back(name, source.tensor(name));
  const fs::path dir = scratch_dir() / "resharded";
  fs::create_directories(dir);
  fs::copy_file(reference_path("io", "sharded/config.json"), dir / "config.json");
  test::write_file(dir / "model.safetensors", "stale single file from an older save");
  const auto written = io::save_sharded_safetensors(dir, tensors, plan["max_shard_size"].get<uint64_t>());
  EXPECT_GT(written.size(), 3u);
  EXPECT_EQ(written.back().filename(), "model.safetensors.index.json");
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));  // stale weights removed
  const nlohmann::json index = nlohmann::json::parse(test::read_file(dir / "model.safetensors.index.json"));
  EXPECT_EQ(index["weight_map"], plan["weight_map"]);
  EXPECT_EQ(index["metadata"]["total_size"], plan["total_size"]);
  const nlohmann::json digest = python_digest(dir);
  expect_same_tensors(tensors, digest["tensors"]);
  expect_same_tensors(tensors, digest["transformers"]);
}

TEST(SafetensorsRoundTrip, SmallModelIsSavedAsOneFileWithoutIndex) {
  const fs::path dir = scratch_dir() / "single";
  const io::NamedTensors tensors = every_dtype();
  const auto written = io::save_sharded_safetensors(dir, tensors, uint64_t(1) << 30);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].filename(), "model.safetensors");
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.index.json"));
  expect_same_tensors(tensors, python_digest(dir)["tensors"]);
}

TEST(SafetensorsRoundTrip, BalcapReadsBackWhatItWroteSharded) {
  const fs::path dir = scratch_dir() / "sharded";
  const io::NamedTensors tensors = every_dtype();
  io::save_sharded_safetensors(dir, tensors, 40);
  io::SafetensorsCheckpoint checkpoint(dir);
  ASSERT_EQ(checkpoint.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(checkpoint.tensor(name).equal(tensor.contiguous()));
  }
}

}  // namespace
}  // namespace balcap
