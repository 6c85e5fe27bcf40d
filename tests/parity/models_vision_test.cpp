// The Qwen2.5-VL vision tower against transformers: a tiny tower with every parameter randomised
// (non-zero biases, norms around 1) is saved under its parameter names, loaded strictly into
// transformers' Qwen2_5_VisionTransformerPretrainedModel (tests/reference/models_vision_check.py),
// and both run the same pixels and grids: images smaller than a window, whole multiples of the
// window (HF then pads a whole empty window row/column), several images in one call, a single
// row of merged tokens, and two temporal patches.
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "models/qwen2_5_vl_vision.h"
#include "models/qwen2_5_vl_window_index.h"
#include "support/test_support.h"

namespace balcap {
namespace {
namespace fs = std::filesystem;

io::Qwen2_5_VLVisionConfig tiny_config() {
  io::Qwen2_5_VLVisionConfig c;
  c.depth = 4;
  c.hidden_size = 64;
  c.intermediate_size = 72;
  c.num_heads = 2;  // head_dim 32
  c.out_hidden_size = 40;
  c.window_size = 112;  // 4 x 4 merged tokens per window
  c.fullatt_block_indexes = {1, 3};
  return c;
}

nlohmann::json config_json(const io::Qwen2_5_VLVisionConfig& c) {
  return {{"depth", c.depth},
          {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size},
          {"num_heads", c.num_heads},
          {"out_hidden_size", c.out_hidden_size},
          {"window_size", c.window_size},
          {"fullatt_block_indexes", c.fullatt_block_indexes},
          {"patch_size", c.patch_size},
          {"temporal_patch_size", c.temporal_patch_size},
          {"spatial_merge_size", c.spatial_merge_size},
          {"in_channels", c.in_channels},
          {"hidden_act", c.hidden_act}};
}

// Norm weights uniform in [0.7, 1.3]; matrices normal with std 1/sqrt(fan_in); biases std 0.2.
void randomise(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    const bool norm = name.find("norm") != std::string::npos || name.find("ln_q") != std::string::npos;
    if (norm) {
      p.uniform_(0.7, 1.3);
    } else if (p.dim() == 1) {
      p.normal_(0.0, 0.2);
    } else {
      p.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(p.numel() / p.size(0))));
    }
  }
}

// One call of the tower: the grids of its images, [t, h, w] in patches.
const std::vector<std::vector<int64_t>> kCases = {
    {1, 4, 6},                        // 0: 2 x 3 merged tokens, less than one window
    {1, 16, 16},                      // 1: 8 x 8 merged tokens, exactly 2 x 2 windows
    {1, 10, 22, 1, 4, 6, 1, 16, 16},  // 2: three images, partial windows
    {1, 2, 18},                       // 3: one row of 9 merged tokens
    {2, 8, 4},                        // 4: two temporal patches (separate full-attention segments)
};

at::Tensor grid_tensor(size_t i) { return at::tensor(kCases[i], at::kLong).view({-1, 3}); }

class VisionTowerParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::manual_seed(20251126);
    tower_ = models::Qwen2_5_VisionTransformer(tiny_config());
    randomise(*tower_);
    const fs::path dir = test::scratch_dir();
    test::write_file(dir / "config.json", config_json(tiny_config()).dump());
    io::NamedTensors weights;
    for (const auto& item : tower_->named_parameters()) weights.emplace_back(item.key(), item.value().detach());
    io::save_safetensors(dir / "weights.safetensors", weights);
    io::NamedTensors inputs;
    for (size_t i = 0; i < kCases.size(); ++i) {
      const at::Tensor grid = grid_tensor(i);
      const int64_t patches = (grid.select(1, 0) * grid.select(1, 1) * grid.select(1, 2)).sum().item<int64_t>();
      inputs.emplace_back(fmt::format("pixel_values_{}", i), at::randn({patches, 3 * 2 * 14 * 14}));
      inputs.emplace_back(fmt::format("grid_thw_{}", i), grid);
    }
    io::save_safetensors(dir / "inputs.safetensors", inputs);
    for (const auto& [name, t] : inputs) inputs_[name] = t;
    const fs::path script = fs::path(test::kSourceDir) / "tests" / "reference" / "models_vision_check.py";
    const auto result = test::run_command(test::shell_quote(test::kPython) + " " + test::shell_quote(script.string()) +
                                          " " + test::shell_quote((dir / "config.json").string()) + " " +
                                          test::shell_quote((dir / "weights.safetensors").string()) + " " +
                                          test::shell_quote((dir / "inputs.safetensors").string()) + " " +
                                          test::shell_quote((dir / "reference.safetensors").string()));
    python_error_ = result.exit_code == 0 ? "" : result.err;
    if (python_error_.empty()) reference_ = io::load_safetensors(dir / "reference.safetensors");
  }
  static void TearDownTestSuite() { tower_ = nullptr; }

  void SetUp() override { ASSERT_TRUE(python_error_.empty()) << python_error_; }

  // max |balcap - transformers| <= 1e-4 x std(transformers), fp32.
  static void expect_matches_transformers(size_t i) {
    SCOPED_TRACE("tower output");
    at::Tensor ours;
    {
      torch::NoGradGuard no_grad;
      ours = tower_->forward(inputs_[fmt::format("pixel_values_{}", i)], inputs_[fmt::format("grid_thw_{}", i)]);
    }
    const at::Tensor& theirs = reference_.at(fmt::format("output_{}", i));
    ASSERT_EQ(ours.sizes(), theirs.sizes());
    const double diff = (ours - theirs).abs().max().item<double>();
    const double scale = theirs.std().item<double>();
    std::printf("case %zu: max abs diff %.3g, output std %.3g, ratio %.3g\n", i, diff, scale, diff / scale);
    EXPECT_LE(diff, 1e-4 * scale);
  }

  static std::vector<int64_t> reference_ints(const std::string& name) {
    const at::Tensor t = reference_.at(name).to(at::kLong).contiguous().flatten();
    return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
  }

  static std::vector<models::VisionGrid> grids(size_t i) { return models::validated_vision_grids(kCases[i], 2); }

  static inline models::Qwen2_5_VisionTransformer tower_{nullptr};
  static inline std::map<std::string, at::Tensor> inputs_;
  static inline std::map<std::string, at::Tensor> reference_;
  static inline std::string python_error_;
};

// One test for all grids: each run of transformers costs seconds of python start-up.
TEST_F(VisionTowerParity, EveryGridMatchesTransformersInOutputWindowsAndPositions) {
  for (size_t i = 0; i < kCases.size(); ++i) {
    SCOPED_TRACE(fmt::format("case {}: grid_thw {}", i, fmt::join(kCases[i], ", ")));
    const models::VisionWindowIndex ours = models::qwen2_5_vl_window_index(grids(i), 2, 112, 14);
    EXPECT_EQ(ours.window_index, reference_ints(fmt::format("window_index_{}", i)));
    EXPECT_EQ(ours.cu_window_seqlens, reference_ints(fmt::format("cu_window_seqlens_{}", i)));
    EXPECT_EQ(models::qwen2_5_vl_vision_cu_seqlens(grids(i)), reference_ints(fmt::format("cu_seqlens_{}", i)));
    EXPECT_EQ(models::qwen2_5_vl_vision_position_ids(grids(i), 2), reference_ints(fmt::format("position_ids_{}", i)));
    expect_matches_transformers(i);
  }
}

TEST(VisionTower, ParameterNamesAreTheCheckpointKeys) {
  // transformers loads every name strictly in the parity test; spot-check the spelling here too.
  const auto params = models::Qwen2_5_VisionTransformer(tiny_config())->named_parameters();
  for (const char* key : {"patch_embed.proj.weight", "blocks.0.norm1.weight", "blocks.3.attn.qkv.bias",
                          "blocks.2.attn.proj.weight", "blocks.1.mlp.gate_proj.bias", "blocks.1.mlp.down_proj.weight",
                          "merger.ln_q.weight", "merger.mlp.0.weight", "merger.mlp.2.bias"}) {
    EXPECT_TRUE(params.contains(key)) << key;
  }
  EXPECT_EQ(params.size(), 1u + 4u * 12u + 5u);  // patch embed, 12 per block, merger
}

TEST(VisionTower, PixelsThatDisagreeWithTheGridNameBothSizes) {
  models::Qwen2_5_VisionTransformer tower(tiny_config());
  torch::NoGradGuard no_grad;
  try {
    tower->forward(at::zeros({20, 1176}), at::tensor({1, 4, 6}, at::kLong).view({1, 3}));
    FAIL() << "expected balcap::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("24 patches"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[20, 1176]"), std::string::npos) << e.what();
  }
}

TEST(VisionTower, AGridNotDivisibleByTheMergeSizeIsRefused) {
  models::Qwen2_5_VisionTransformer tower(tiny_config());
  torch::NoGradGuard no_grad;
  EXPECT_THROW(tower->forward(at::zeros({15, 1176}), at::tensor({1, 3, 5}, at::kLong).view({1, 3})), Error);
}

}  // namespace
}  // namespace balcap
