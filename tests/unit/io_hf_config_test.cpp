// config.json / generation_config.json parsing compared with what transformers parses from the same
// files (tests/reference/ref_io.py: configs.json, generation.json), for the v5 layout transformers
// writes, the v4 flat and nested hub layouts, class defaults, and the committed hub copies.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/generation_config.h"
#include "io/hf_config.h"
#include "io/model_family.h"
#include "support/error_of.h"
#include "support/test_support.h"

namespace balcap {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using test::reference_path;

json optional_json(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json optional_json(const std::optional<bool>& v) { return v ? json(*v) : json(nullptr); }

json to_json(const io::TextDecoderConfig& c) {
  return {{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size}, {"intermediate_size", c.intermediate_size},
          {"num_hidden_layers", c.num_hidden_layers}, {"num_attention_heads", c.num_attention_heads},
          {"num_key_value_heads", c.num_key_value_heads}, {"head_dim", c.head_dim},
          {"max_position_embeddings", c.max_position_embeddings}, {"rms_norm_eps", c.rms_norm_eps},
          {"rope_theta", c.rope_theta}, {"rope_type", c.rope_type}, {"mrope_section", c.mrope_section},
          {"hidden_act", c.hidden_act}, {"tie_word_embeddings", c.tie_word_embeddings}, {"qkv_bias", c.qkv_bias},
          {"o_proj_bias", c.o_proj_bias}, {"mlp_bias", c.mlp_bias}, {"bos_token_id", optional_json(c.bos_token_id)},
          {"eos_token_ids", c.eos_token_ids}, {"pad_token_id", optional_json(c.pad_token_id)}};
}

json to_json(const io::Qwen2_5_VLConfig& c) {
  const auto& v = c.vision;
  return {{"family", "qwen2_5_vl"},
          {"text", to_json(c.text)},
          {"vision",
           {{"depth", v.depth}, {"hidden_size", v.hidden_size}, {"intermediate_size", v.intermediate_size},
            {"num_heads", v.num_heads}, {"in_channels", v.in_channels}, {"patch_size", v.patch_size},
            {"temporal_patch_size", v.temporal_patch_size}, {"spatial_merge_size", v.spatial_merge_size},
            {"window_size", v.window_size}, {"out_hidden_size", v.out_hidden_size},
            {"tokens_per_second", v.tokens_per_second}, {"hidden_act", v.hidden_act},
            {"fullatt_block_indexes", v.fullatt_block_indexes}}},
          {"image_token_id", c.image_token_id}, {"video_token_id", c.video_token_id},
          {"vision_start_token_id", c.vision_start_token_id}, {"vision_end_token_id", c.vision_end_token_id},
          {"tie_word_embeddings", c.tie_word_embeddings}};
}

json to_json(const io::LlavaConfig& c) {
  const auto& v = c.vision;
  return {{"family", "llava"},
          {"text", to_json(c.text)},
          {"vision",
           {{"hidden_size", v.hidden_size}, {"intermediate_size", v.intermediate_size},
            {"projection_dim", v.projection_dim}, {"num_hidden_layers", v.num_hidden_layers},
            {"num_attention_heads", v.num_attention_heads}, {"num_channels", v.num_channels},
            {"image_size", v.image_size}, {"patch_size", v.patch_size}, {"hidden_act", v.hidden_act},
            {"layer_norm_eps", v.layer_norm_eps}}},
          {"image_token_index", c.image_token_index}, {"image_seq_length", c.image_seq_length},
          {"projector_hidden_act", c.projector_hidden_act},
          {"vision_feature_select_strategy", c.vision_feature_select_strategy},
          {"vision_feature_layers", c.vision_feature_layers},
          {"multimodal_projector_bias", c.multimodal_projector_bias},
          {"tie_word_embeddings", c.tie_word_embeddings}, {"pad_token_id", optional_json(c.pad_token_id)}};
}

// Every key transformers reported must be present in ours with the same value (floats to 1e-12).
void expect_matches(const json& ours, const json& python, const std::string& where) {
  for (const auto& [key, want] : python.items()) {
    const std::string path = where + "." + key;
    if (key == "path") continue;
    ASSERT_TRUE(ours.contains(key)) << path;
    const json& got = ours[key];
    if (want.is_object()) {
      expect_matches(got, want, path);
    } else if (want.is_number_float() || got.is_number_float()) {
      ASSERT_TRUE(got.is_number()) << path << ": " << got;
      EXPECT_NEAR(got.get<double>(), want.get<double>(), 1e-12 * std::abs(want.get<double>())) << path;
    } else {
      EXPECT_EQ(got, want) << path;
    }
  }
}

json reference(const char* file) { return json::parse(test::read_file(reference_path("io", file))); }

TEST(HfConfig, EveryConfigParsesAsTransformersParsesIt) {
  const json cases = reference("configs.json");
  ASSERT_GE(cases.size(), 10u);
  for (const auto& [name, want] : cases.items()) {
    SCOPED_TRACE(name);
    const fs::path dir = want["path"].get<std::string>();
    const io::ModelFamily family = io::detect_family(dir);
    EXPECT_EQ(to_string(family), want["family"].get<std::string>());
    json ours;
    switch (family) {
      case io::ModelFamily::qwen2_5_vl: ours = to_json(io::load_qwen2_5_vl_config(dir)); break;
      case io::ModelFamily::llava: ours = to_json(io::load_llava_config(dir)); break;
      case io::ModelFamily::qwen2:
      case io::ModelFamily::llama: ours = {{"family", to_string(family)}, {"text", to_json(io::load_text_decoder_config(dir))}};
    }
    expect_matches(ours, want, name);
  }
}

TEST(HfConfig, Qwen25Vl3bHubConfigHasTheKnownValues) {
  const auto c = io::load_qwen2_5_vl_config(test::data_path("io/hub/qwen2_5_vl_3b_instruct"));
  EXPECT_EQ(c.text.hidden_size, 2048);
  EXPECT_EQ(c.text.num_hidden_layers, 36);
  EXPECT_EQ(c.text.num_attention_heads, 16);
  EXPECT_EQ(c.text.num_key_value_heads, 2);
  EXPECT_EQ(c.text.head_dim, 128);
  EXPECT_EQ(c.text.vocab_size, 151936);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.text.qkv_bias);
  EXPECT_FALSE(c.text.o_proj_bias);
  EXPECT_EQ(c.text.mrope_section, (std::vector<int64_t>{16, 24, 24}));
  EXPECT_EQ(c.text.rope_theta, 1e6);
  EXPECT_EQ(c.vision.fullatt_block_indexes, (std::vector<int64_t>{7, 15, 23, 31}));
  EXPECT_EQ(c.vision.out_hidden_size, 2048);
  EXPECT_EQ(c.vision.hidden_size, 1280);
  EXPECT_EQ(c.image_token_id, 151655);
}

TEST(HfConfig, Qwen25Vl7bHubConfigIsUntiedWithGqaSevenToOne) {
  const auto c = io::load_qwen2_5_vl_config(test::data_path("io/hub/qwen2_5_vl_7b_instruct"));
  EXPECT_EQ(c.text.hidden_size, 3584);
  EXPECT_EQ(c.text.num_hidden_layers, 28);
  EXPECT_EQ(c.text.num_attention_heads / c.text.num_key_value_heads, 7);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.text.vocab_size, 152064);
  EXPECT_EQ(c.vision.out_hidden_size, 3584);
}

TEST(HfConfig, Llava15HubConfigFillsLlamaAndClipDefaults) {
  const auto c = io::load_llava_config(test::data_path("io/hub/llava_1_5_7b_hf"));
  EXPECT_EQ(c.text.hidden_size, 4096);
  EXPECT_EQ(c.text.num_key_value_heads, 32);
  EXPECT_EQ(c.text.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.text.vocab_size, 32064);
  EXPECT_EQ(c.vision.hidden_act, "quick_gelu");
  EXPECT_EQ(c.vision.image_size, 336);
  EXPECT_EQ(c.vision_feature_layers, (std::vector<int64_t>{-2}));
  EXPECT_EQ(c.image_token_index, 32000);
  EXPECT_EQ(c.pad_token_id, 32001);
  EXPECT_TRUE(c.multimodal_projector_bias);
}

TEST(GenerationConfig, EosAsIntOrListAndSamplingFieldsMatchTransformers) {
  const json cases = reference("generation.json");
  ASSERT_EQ(cases.size(), 4u);
  for (const auto& [name, want] : cases.items()) {
    SCOPED_TRACE(name);
    const io::GenerationConfig g = io::load_generation_config(want["path"].get<std::string>());
    const json ours = {{"bos_token_id", optional_json(g.bos_token_id)}, {"pad_token_id", optional_json(g.pad_token_id)},
                       {"eos_token_ids", g.eos_token_ids}, {"do_sample", optional_json(g.do_sample)},
                       {"temperature", optional_json(g.temperature)}, {"top_p", optional_json(g.top_p)},
                       {"top_k", optional_json(g.top_k)}, {"repetition_penalty", optional_json(g.repetition_penalty)},
                       {"max_new_tokens", optional_json(g.max_new_tokens)}, {"max_length", optional_json(g.max_length)}};
    expect_matches(ours, want, name);
  }
  const io::GenerationConfig qwen = io::load_generation_config(test::data_path("io/hub/qwen2_5_vl_3b_instruct"));
  EXPECT_EQ(qwen.eos_token_ids, (std::vector<int64_t>{151645, 151643}));
  EXPECT_EQ(qwen.top_k, 1);
}

// --- bad input: the message names the file and key ---

using test::error_of;

fs::path write_config(const std::string& text, const std::string& file = "config.json") {
  const fs::path dir = test::scratch_dir();
  test::write_file(dir / file, text);
  return dir;
}

TEST(HfConfig, WrongTypeNamesTheFileAndNestedKey) {
  const fs::path dir = write_config(R"({"model_type": "qwen2_5_vl", "text_config": {"hidden_size": "2048"}})");
  const std::string message = error_of([&] { io::load_qwen2_5_vl_config(dir); });
  EXPECT_NE(message.find((dir / "config.json").string()), std::string::npos) << message;
  EXPECT_NE(message.find("text_config.hidden_size"), std::string::npos) << message;
  EXPECT_NE(message.find("\"2048\""), std::string::npos) << message;
}

TEST(HfConfig, SyntaxErrorNamesTheLineAndColumn) {
  const fs::path dir = write_config("{\n  \"model_type\": \"llava\",\n  \"vocab_size\": 32064,,\n}\n");
  const std::string message = error_of([&] { io::load_llava_config(dir); });
  EXPECT_NE(message.find("config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("line 3, column 23"), std::string::npos) << message;
}

TEST(HfConfig, UnknownModelTypeIsNamedWithTheSupportedList) {
  const fs::path dir = write_config(R"({"model_type": "mllama", "architectures": ["MllamaForConditionalGeneration"]})");
  const std::string message = error_of([&] { io::detect_family(dir); });
  EXPECT_NE(message.find("mllama"), std::string::npos) << message;
  EXPECT_NE(message.find("qwen2_5_vl"), std::string::npos) << message;
  EXPECT_NE(message.find("llava"), std::string::npos) << message;
}

TEST(HfConfig, FamilyFallsBackToArchitecturesWithoutModelType) {
  const fs::path dir = write_config(R"({"architectures": ["LlavaForConditionalGeneration"]})");
  EXPECT_EQ(io::detect_family(dir), io::ModelFamily::llava);
  EXPECT_NE(error_of([&] { io::detect_family(test::scratch_dir() / "nowhere"); }).find("not found"), std::string::npos);
}

TEST(HfConfig, MropeSectionThatDoesNotCoverHalfTheHeadIsRefused) {
  const fs::path dir = write_config(
      R"({"model_type": "qwen2_5_vl", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
          "rope_scaling": {"type": "mrope", "mrope_section": [2, 2, 2]}})");
  const std::string message = error_of([&] { io::load_qwen2_5_vl_config(dir); });
  EXPECT_NE(message.find("rope_scaling.mrope_section"), std::string::npos) << message;
  EXPECT_NE(message.find("head_dim/2 = 8"), std::string::npos) << message;
}

TEST(HfConfig, KvHeadsThatDoNotDivideHeadsAreRefused) {
  const fs::path dir = write_config(R"({"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5})");
  const std::string message = error_of([&] { io::load_text_decoder_config(dir); });
  EXPECT_NE(message.find("num_key_value_heads"), std::string::npos) << message;
}

TEST(HfConfig, WrongFamilyLoaderIsRefused) {
  const std::string message = error_of([&] { io::load_llava_config(test::data_path("io/hub/qwen2_5_vl_3b_instruct")); });
  EXPECT_NE(message.find("qwen2_5_vl"), std::string::npos) << message;
  EXPECT_NE(message.find("llava"), std::string::npos) << message;
}

TEST(GenerationConfig, EosOfTheWrongTypeNamesTheKey) {
  const fs::path dir = write_config(R"({"eos_token_id": "2"})", "generation_config.json");
  const std::string message = error_of([&] { io::load_generation_config(dir); });
  EXPECT_NE(message.find("generation_config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("eos_token_id"), std::string::npos) << message;
  EXPECT_NE(message.find("an integer or a list of integers"), std::string::npos) << message;
}

TEST(GenerationConfig, OutOfRangeTopPIsRefused) {
  const fs::path dir = write_config(R"({"top_p": 1.5})", "generation_config.json");
  EXPECT_NE(error_of([&] { io::load_generation_config(dir); }).find("top_p"), std::string::npos);
}

}  // namespace
}  // namespace balcap
