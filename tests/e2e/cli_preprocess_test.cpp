// `balcap preprocess`: the real binary on real images. The written safetensors file is read back
// with the python `safetensors` library and compared with transformers' image processor (PIL
// backend) on the same image and preprocessor_config.json; bad images exit 1 naming the file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "balcap_test/test_paths.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using balcap::test::data_path;
using balcap::test::run_balcap;
using balcap::test::run_command;
using balcap::test::scratch_dir;
using balcap::test::shell_quote;
using balcap::test::write_file;

constexpr const char* kQwenConfig = R"({"min_pixels": 3136, "max_pixels": 100352, "patch_size": 14,
  "temporal_patch_size": 2, "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
  "image_std": [0.26862954, 0.26130258, 0.27577711], "image_processor_type": "Qwen2VLImageProcessor"})";
constexpr const char* kClipConfig = R"({"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336},
  "do_center_crop": true, "resample": 3, "image_processor_type": "CLIPImageProcessor"})";

fs::path model_dir(const fs::path& root, const std::string& name, const char* preprocessor,
                   const std::string& model_type) {
  const fs::path dir = root / name;
  fs::create_directories(dir);
  write_file(dir / "preprocessor_config.json", preprocessor);
  write_file(dir / "config.json", R"({"model_type": ")" + model_type + R"("})");
  return dir;
}

// Python: the file's tensors vs the HF processor on the same inputs -> {"max_abs", "grid_equal", ...}.
constexpr const char* kCompare = R"(
import json, sys
import numpy as np
from safetensors.numpy import load_file
from transformers import AutoImageProcessor
model, image, out = sys.argv[1:4]
saved = load_file(out)
ref = AutoImageProcessor.from_pretrained(model, backend="pil")(images=image, return_tensors="np")
result = {"shape_equal": list(saved["pixel_values"].shape) == list(ref["pixel_values"].shape),
          "dtype": str(saved["pixel_values"].dtype)}
if result["shape_equal"]:
    result["max_abs"] = float(np.abs(saved["pixel_values"] - ref["pixel_values"]).max())
if "image_grid_thw" in ref:
    result["grid_equal"] = saved["image_grid_thw"].tolist() == ref["image_grid_thw"].tolist()
    result["grid_dtype"] = str(saved["image_grid_thw"].dtype)
print(json.dumps(result))
)";

nlohmann::json compare_with_hf(const fs::path& root, const fs::path& model, const fs::path& image,
                               const fs::path& out) {
  const fs::path script = root / "compare.py";
  write_file(script, kCompare);
  auto r = run_command(shell_quote(balcap::test::kPython) + " " + shell_quote(script.string()) + " " +
                       shell_quote(model.string()) + " " + shell_quote(image.string()) + " " +
                       shell_quote(out.string()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const size_t json_start = r.out.rfind('{');
  return json_start == std::string::npos ? nlohmann::json::object() : nlohmann::json::parse(r.out.substr(json_start));
}

TEST(CliPreprocess, QwenAndClipFilesMatchTheHfProcessorAndShapesArePrinted) {
  const fs::path root = scratch_dir();
  const fs::path qwen = model_dir(root, "qwen", kQwenConfig, "qwen2_5_vl");
  const fs::path clip = model_dir(root, "clip", kClipConfig, "llava");
  const fs::path rocket = data_path("images/rocket.jpg"), chelsea = data_path("images/chelsea.png");

  auto r = run_balcap("preprocess --model " + shell_quote(qwen.string()) + " --image " +
                      shell_quote(rocket.string()) + " --out " + shell_quote((root / "q.safetensors").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto q = nlohmann::json::parse(r.out);
  EXPECT_EQ(q["family"], "qwen2_5_vl");
  EXPECT_EQ(q["pixel_values"], nlohmann::json::parse("[468, 1176]"));  // 640x427 -> 364x252: 26x18 patches
  EXPECT_EQ(q["image_grid_thw"], nlohmann::json::parse("[1, 3]"));
  EXPECT_EQ(q["num_image_tokens"], 117);

  r = run_balcap("preprocess --model " + shell_quote(clip.string()) + " --image " + shell_quote(chelsea.string()) +
                 " --out " + shell_quote((root / "c.safetensors").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto c = nlohmann::json::parse(r.out);
  EXPECT_EQ(c["family"], "llava");
  EXPECT_EQ(c["pixel_values"], nlohmann::json::parse("[1, 3, 336, 336]"));
  EXPECT_FALSE(c.contains("image_grid_thw"));
  EXPECT_EQ(c["num_image_tokens"], 576);

  const auto qc = compare_with_hf(root, qwen, rocket, root / "q.safetensors");
  EXPECT_TRUE(qc.value("shape_equal", false)) << qc;
  EXPECT_LE(qc.value("max_abs", 1.0), 1e-6) << qc;
  EXPECT_EQ(qc["dtype"], "float32");
  EXPECT_TRUE(qc.value("grid_equal", false)) << qc;
  EXPECT_EQ(qc["grid_dtype"], "int64");
  const auto cc = compare_with_hf(root, clip, chelsea, root / "c.safetensors");
  EXPECT_TRUE(cc.value("shape_equal", false)) << cc;
  EXPECT_LE(cc.value("max_abs", 1.0), 1e-6) << cc;
}

// `root`: this test's scratch directory (scratch_dir() empties it on every call).
void expect_failure_naming(const fs::path& root, const std::string& image, const std::string& what) {
  const fs::path qwen = model_dir(root, "qwen", kQwenConfig, "qwen2_5_vl");
  auto r = run_balcap("preprocess --model " + shell_quote(qwen.string()) + " --image " + shell_quote(image));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(image), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliPreprocess, ZeroByteImageExitsOneNamingTheFile) {
  const fs::path root = scratch_dir();
  const fs::path image = root / "blank.png";
  write_file(image, "");
  expect_failure_naming(root, image.string(), "the file is empty (0 bytes)");
}

TEST(CliPreprocess, TruncatedJpegExitsOneNamingTheFile) {
  expect_failure_naming(scratch_dir(), data_path("images/truncated.jpg").string(), "the file is truncated");
}

TEST(CliPreprocess, ModelDirWithoutPreprocessorConfigExitsOne) {
  auto r = run_balcap("preprocess --model " + shell_quote(scratch_dir().string()) + " --image " +
                      shell_quote(data_path("images/rocket.jpg").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("preprocessor_config.json"), std::string::npos) << r.err;
}

TEST(CliPreprocess, MissingImageOptionIsAUsageError) {
  auto r = run_balcap("preprocess --model " + shell_quote(scratch_dir().string()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
