// The text decoder against transformers, layer by layer: the C++ test builds a tiny decoder with
// random weights (every parameter, norms around 1), writes the weights and inputs as safetensors,
// runs tests/reference/models_lm_check.py (Qwen2_5_VLTextModel / LlamaModel / get_rope_index loaded
// with strict=True, so the parameter names must be transformers') and compares the outputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "balcap/io/hf_config.h"
#include "balcap/io/safetensors_reader.h"
#include "balcap/io/safetensors_writer.h"
#include "balcap/models/attention.h"
#include "balcap/models/kv_cache.h"
#include "balcap/models/qwen2_5_vl_rope_index.h"
#include "balcap/models/text_decoder.h"
#include "support/test_support.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;
using Tensors = std::map<std::string, at::Tensor>;

TextDecoderConfig qwen_text_config() {
  TextDecoderConfig c;
  c.model_type = "qwen2_5_vl_text";
  c.vocab_size = 300;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 4096;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.mrope_section = {2, 3, 3};
  c.qkv_bias = true;
  return c;
}

TextDecoderConfig llama_config() {
  TextDecoderConfig c = qwen_text_config();
  c.model_type = "llama";
  c.num_key_value_heads = 4;  // MHA
  c.rms_norm_eps = 1e-5;
  c.mrope_section.clear();
  c.o_proj_bias = true;  // attention_bias
  c.mlp_bias = true;
  return c;
}

nlohmann::json config_json(const TextDecoderConfig& c, const std::string& mode) {
  return {{"mode", mode},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size},
          {"num_hidden_layers", c.num_hidden_layers},
          {"num_attention_heads", c.num_attention_heads},
          {"num_key_value_heads", c.num_key_value_heads},
          {"rms_norm_eps", c.rms_norm_eps},
          {"rope_theta", c.rope_theta},
          {"mrope_section", c.mrope_section},
          {"attention_bias", c.o_proj_bias},
          {"mlp_bias", c.mlp_bias}};
}

// Every parameter random: norm weights 1 +- 0.3, the rest normal(0, 0.15) (embeddings 0.8).
TextDecoder random_decoder(const TextDecoderConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  TextDecoder decoder(config);
  torch::NoGradGuard no_grad;
  for (auto& p : decoder->named_parameters()) {
    const auto& name = p.key();
    if (name.find("norm") != std::string::npos) {
      p.value().copy_(1.0 + 0.3 * torch::randn_like(p.value()));
    } else {
      p.value().normal_(0.0, name.find("embed") != std::string::npos ? 0.8 : 0.15);
    }
  }
  decoder->eval();
  return decoder;
}

// Writes config.json + inputs.safetensors (w.<name> weights + `inputs`), runs the python check.
Tensors run_reference(const nlohmann::json& config, const TextDecoder& decoder, const Tensors& inputs) {
  const fs::path dir = test::scratch_dir();
  test::write_file(dir / "config.json", config.dump());
  NamedTensors tensors;
  if (!decoder.is_empty()) {
    for (const auto& p : decoder->named_parameters()) tensors.emplace_back("w." + p.key(), p.value().detach());
  }
  for (const auto& [name, t] : inputs) tensors.emplace_back(name, t);
  save_safetensors(dir / "inputs.safetensors", tensors);
  const std::string script = std::string(test::kSourceDir) + "/tests/reference/models_lm_check.py";
  const auto r = test::run_command(test::shell_quote(test::kPython) + " " + test::shell_quote(script) + " " +
                                   test::shell_quote(dir.string()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Tensors out;
  for (const auto& [name, t] : load_safetensors(dir / "outputs.safetensors")) out[name] = t.clone();
  return out;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// 3-D positions as an image prompt has them: distinct per axis, repeated and jumping values.
at::Tensor mixed_positions(int64_t batch, int64_t seq) {
  torch::manual_seed(7);
  const auto base = at::arange(seq, at::kLong).view({1, 1, seq}).expand({3, batch, seq}).contiguous();
  return base + at::randint(0, 6, {3, batch, seq}, at::kLong);
}

TEST(TextDecoderParity, QwenTextModelWithThreeDPositionsMatchesTransformers) {
  const auto config = qwen_text_config();
  auto decoder = random_decoder(config, 1);
  torch::manual_seed(3);
  const int64_t B = 2, S = 9;
  const auto ids = at::randint(0, config.vocab_size, {B, S}, at::kLong);
  const auto pos = mixed_positions(B, S);
  const auto ref = run_reference(config_json(config, "qwen2_5_vl_text"), decoder,
                                 {{"input_ids", ids}, {"position_ids", pos}});
  torch::NoGradGuard no_grad;
  const auto [cos, sin] = decoder->rotary(pos, at::kFloat);
  const auto hidden = decoder->forward(decoder->embed(ids), cos, sin);
  const double cos_diff = max_abs_diff(cos, ref.at("cos")), sin_diff = max_abs_diff(sin, ref.at("sin"));
  const double diff = max_abs_diff(hidden, ref.at("hidden"));
  const double scale = ref.at("hidden").std().item<double>();
  std::cout << "qwen text: max |cos| diff " << cos_diff << ", |sin| " << sin_diff << ", hidden " << diff
            << " (hidden std " << scale << ")\n";
  EXPECT_LE(cos_diff, 1e-6);
  EXPECT_LE(sin_diff, 1e-6);
  EXPECT_LE(diff, 1e-5 * scale);
}

TEST(TextDecoderParity, KvCacheDecodeMatchesTransformersFullForward) {
  // Prefill 4 tokens, then a chunk of 2 (explicit causal mask past the cache), then 1 at a time.
  const auto config = qwen_text_config();
  auto decoder = random_decoder(config, 2);
  torch::manual_seed(4);
  const int64_t B = 2, S = 9;
  const auto ids = at::randint(0, config.vocab_size, {B, S}, at::kLong);
  const auto pos = mixed_positions(B, S);
  const auto ref = run_reference(config_json(config, "qwen2_5_vl_text"), decoder,
                                 {{"input_ids", ids}, {"position_ids", pos}});
  torch::NoGradGuard no_grad;
  KvCache cache(config, B, 16, at::kFloat);
  std::vector<at::Tensor> pieces;
  const std::vector<std::pair<int64_t, int64_t>> steps{{0, 4}, {4, 2}, {6, 1}, {7, 1}, {8, 1}};
  for (const auto& [start, len] : steps) {
    const auto [cos, sin] = decoder->rotary(pos.narrow(2, start, len), at::kFloat);
    pieces.push_back(decoder->forward(decoder->embed(ids.narrow(1, start, len)), cos, sin, {}, &cache, start));
  }
  const double diff = max_abs_diff(at::cat(pieces, 1), ref.at("hidden"));
  std::cout << "kv-cache decode vs HF full forward: max |diff| " << diff << "\n";
  EXPECT_LE(diff, 1e-5 * ref.at("hidden").std().item<double>());
}

TEST(TextDecoderParity, LeftPaddedBatchMatchesTransformersOnRealTokens) {
  const auto config = qwen_text_config();
  auto decoder = random_decoder(config, 5);
  torch::manual_seed(6);
  const int64_t B = 2, S = 8;
  const auto ids = at::randint(0, config.vocab_size, {B, S}, at::kLong);
  auto padding = at::ones({B, S}, at::kLong);
  padding[0].narrow(0, 0, 3).fill_(0);  // row 0: 3 pads on the left
  const auto pos = qwen2_5_vl_rope_index(ids, {}, padding, Qwen2_5_VLConfig{}).position_ids;
  const auto ref = run_reference(config_json(config, "qwen2_5_vl_text"), decoder,
                                 {{"input_ids", ids}, {"position_ids", pos}, {"attention_mask", padding}});
  torch::NoGradGuard no_grad;
  const auto [cos, sin] = decoder->rotary(pos, at::kFloat);
  const auto hidden = decoder->forward(decoder->embed(ids), cos, sin, attention_mask_for(padding, S, 0));
  const auto real = padding.to(at::kBool);
  const double diff = max_abs_diff(hidden.index({real}), ref.at("hidden").index({real}));
  std::cout << "left-padded batch, real tokens: max |diff| " << diff << "\n";
  EXPECT_TRUE(hidden.isfinite().all().item<bool>());
  EXPECT_LE(diff, 1e-5 * ref.at("hidden").std().item<double>());
}

TEST(TextDecoderParity, LlamaWithBiasesAndOneDPositionsMatchesTransformers) {
  const auto config = llama_config();
  auto decoder = random_decoder(config, 8);
  torch::manual_seed(9);
  const int64_t B = 2, S = 7;
  const auto ids = at::randint(0, config.vocab_size, {B, S}, at::kLong);
  const auto pos = at::arange(S, at::kLong).unsqueeze(0).expand({B, S}).contiguous() + 3;
  const auto ref = run_reference(config_json(config, "llama"), decoder, {{"input_ids", ids}, {"position_ids", pos}});
  torch::NoGradGuard no_grad;
  const auto [cos, sin] = decoder->rotary(pos, at::kFloat);
  const auto hidden = decoder->forward(decoder->embed(ids), cos, sin);
  const double diff = max_abs_diff(hidden, ref.at("hidden"));
  std::cout << "llama: max |cos| diff " << max_abs_diff(cos, ref.at("cos")) << ", hidden " << diff << "\n";
  EXPECT_LE(max_abs_diff(cos, ref.at("cos")), 1e-6);
  EXPECT_LE(diff, 1e-5 * ref.at("hidden").std().item<double>());
}

TEST(RopeIndexParity, PaddedTwoImageBatchMatchesTransformersGetRopeIndex) {
  constexpr int64_t T = 100, VS = 151652, VE = 151653, P = 151655, PAD = 151643;
  // Row 0: left padding, one image [1, 4, 6] (6 tokens). Row 1: two images [1, 2, 4] (2 tokens) and
  // [2, 4, 2] (4 tokens, two temporal slices), right padding.
  std::vector<int64_t> r0{PAD, PAD, T, T + 1, T + 2, VS, P, P, P, P, P, P, VE, T + 3, T + 4};
  std::vector<int64_t> r1{T, T + 1, VS, P, P, VE, VS, P, P, P, P, VE, PAD, PAD, PAD};
  std::vector<int64_t> m0{0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<int64_t> m1{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  const auto ids = at::stack({at::tensor(r0, at::kLong), at::tensor(r1, at::kLong)});
  const auto mask = at::stack({at::tensor(m0, at::kLong), at::tensor(m1, at::kLong)});
  const auto grids = at::tensor(std::vector<int64_t>{1, 4, 6, 1, 2, 4, 2, 4, 2}, at::kLong).view({3, 3});
  const nlohmann::json config{{"mode", "rope_index"}, {"spatial_merge_size", 2}, {"image_token_id", P}};
  const auto ref = run_reference(config, nullptr, {{"input_ids", ids}, {"attention_mask", mask}, {"image_grid_thw", grids}});
  const auto r = qwen2_5_vl_rope_index(ids, grids, mask, Qwen2_5_VLConfig{});
  EXPECT_TRUE(at::equal(r.position_ids, ref.at("position_ids"))) << r.position_ids << ref.at("position_ids");
  EXPECT_TRUE(at::equal(r.rope_deltas, ref.at("rope_deltas"))) << r.rope_deltas << ref.at("rope_deltas");
}

}  // namespace
}  // namespace balcap
