// Qwen2ForCausalLM / LlamaForCausalLM (models/text_causal_lm.h) against transformers 5.24 on the
// tiny random judge checkpoints of ref_rewards.py (float32, CPU): logits max |diff| <= 1e-4 x logit
// std with the same argmax, padded batches, prefill + decode, save -> transformers reload, bad
// checkpoints, and load_policy's family dispatch.
#include <gtest/gtest.h>

#include <iostream>

#include "core/error.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "models/load_policy.h"
#include "models/qwen2_5_vl_policy.h"
#include "models/text_causal_lm.h"
#include "models/text_causal_lm_policy.h"
#include "rewards_reference.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;

models::TextCausalLMCheckpoint& cached_model(const std::string& name) {
  static std::map<std::string, models::TextCausalLMCheckpoint> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, models::load_text_causal_lm(test::judge_model_dir(name))).first;
  return it->second;
}

// logits [S, V] against the reference [S, V]: max |diff| <= 1e-4 x std, identical argmax.
void expect_logits_match(const at::Tensor& logits, const at::Tensor& expected, const std::string& what) {
  ASSERT_EQ(logits.sizes(), expected.sizes()) << what;
  const double diff = (logits - expected).abs().max().item<double>();
  const double std = expected.std().item<double>();
  const int64_t argmax_diff = logits.argmax(-1).ne(expected.argmax(-1)).sum().item<int64_t>();
  std::cout << what << " [" << logits.size(0) << ", " << logits.size(1) << "]: max diff " << diff << " = " << diff / std
            << " x std; " << argmax_diff << " argmax differences\n";
  EXPECT_LE(diff, 1e-4 * std) << what;
  EXPECT_EQ(argmax_diff, 0) << what;
}

void expect_cases_match(const std::string& name) {
  torch::NoGradGuard no_grad;
  auto& lm = cached_model(name);
  const auto cases = test::rewards_entries("lm_cases", name);
  ASSERT_FALSE(cases.empty());
  for (const auto& entry : cases) {
    auto c = test::load_rewards_tensors(entry);
    expect_logits_match(lm.model->forward(c["input_ids"].unsqueeze(0))[0], c["logits"], entry["file"]);
  }
}

TEST(TextLm, QwenLogitsMatchTransformers) { expect_cases_match("qwen2"); }

TEST(TextLm, LlamaLogitsMatchTransformers) { expect_cases_match("llama"); }

// Both cases of a model in one batch, shorter row padded on the right, then on the left.
TEST(TextLm, RightAndLeftPaddedRowsGetTheirUnpaddedLogits) {
  torch::NoGradGuard no_grad;
  for (const std::string name : {"qwen2", "llama"}) {
    auto& lm = cached_model(name);
    const auto cases = test::rewards_entries("lm_cases", name);
    auto a = test::load_rewards_tensors(cases[0]), b = test::load_rewards_tensors(cases[1]);
    const int64_t La = a["input_ids"].size(0), Lb = b["input_ids"].size(0), S = std::max(La, Lb);
    ASSERT_NE(La, Lb);
    for (const bool left : {false, true}) {
      at::Tensor ids = at::zeros({2, S}, at::kLong), mask = at::zeros({2, S}, at::kLong);
      const int64_t oa = left ? S - La : 0, ob = left ? S - Lb : 0;
      ids[0].narrow(0, oa, La).copy_(a["input_ids"]);
      ids[1].narrow(0, ob, Lb).copy_(b["input_ids"]);
      mask[0].narrow(0, oa, La).fill_(1);
      mask[1].narrow(0, ob, Lb).fill_(1);
      const at::Tensor logits = lm.model->forward(ids, mask);  // [2, S, V]
      const std::string what = name + (left ? " left-padded" : " right-padded");
      expect_logits_match(logits[0].narrow(0, oa, La), a["logits"], what + " row 0");
      expect_logits_match(logits[1].narrow(0, ob, Lb), b["logits"], what + " row 1");
    }
  }
}

// Tied Qwen2: no lm_head parameter (the embedding projects); untied LLaMA: lm_head on disk and in the module.
TEST(TextLm, ParameterNamesAreTheCheckpointNamesAndTyingFollowsTheConfig) {
  for (const std::string name : {"qwen2", "llama"}) {
    auto& lm = cached_model(name);
    std::set<std::string> module_names, disk_names;
    for (const auto& p : lm.model->named_parameters()) module_names.insert(p.key());
    for (const auto& [disk, t] : io::load_safetensors(test::judge_model_dir(name) / "model.safetensors")) {
      disk_names.insert(disk);
    }
    EXPECT_EQ(module_names, disk_names) << name;
    EXPECT_EQ(lm.model->tied(), test::rewards_manifest()["models"][name]["tied"].get<bool>()) << name;
  }
  EXPECT_FALSE(cached_model("qwen2").model->lm_head);
  EXPECT_TRUE(at::equal(cached_model("qwen2").model->output_weight(),
                        cached_model("qwen2").model->model->embed_tokens->weight));
  EXPECT_TRUE(cached_model("llama").model->lm_head);
  EXPECT_TRUE(cached_model("qwen2").config.qkv_bias);
  EXPECT_FALSE(cached_model("llama").config.qkv_bias);
}

// Prefill of the first k tokens, then decode() of the rest one at a time: each step's logits equal
// the reference row of the full forward.
TEST(TextLm, PrefillThenDecodeGivesTheFullForwardLogits) {
  torch::NoGradGuard no_grad;
  for (const std::string name : {"qwen2", "llama"}) {
    auto policy = models::TextCausalLMPolicy::load(test::judge_model_dir(name));
    auto c = test::load_rewards_tensors(test::rewards_entries("lm_cases", name)[0]);
    const at::Tensor& ids = c["input_ids"];
    const int64_t S = ids.size(0), k = 5;
    models::PolicyPrompt prompt{std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + k), {}, {}};
    models::PolicyPrefill prefill = policy->prefill(prompt);
    EXPECT_EQ(prefill.next_position, k);
    models::KvCache cache(policy->decoder_config(), 1, S, policy->dtype());
    for (int64_t layer = 0; layer < cache.num_layers(); ++layer) {
      cache.update(layer, prefill.cache.keys(layer), prefill.cache.values(layer), 0);
    }
    std::vector<at::Tensor> rows{prefill.logits};
    for (int64_t pos = k; pos < S - 1; ++pos) {
      rows.push_back(policy->decode(ids.narrow(0, pos, 1), at::full({1}, pos, at::kLong), cache, pos, {}));
    }
    expect_logits_match(at::cat(rows), c["logits"].narrow(0, k - 1, S - k), name + " prefill+decode");
  }
}

// save_text_causal_lm -> transformers' AutoModelForCausalLM.from_pretrained gives the reference logits.
TEST(TextLm, SavedCheckpointLoadsInTransformersWithTheSameLogits) {
  const fs::path root = test::scratch_dir();
  std::string args;
  for (const std::string name : {"qwen2", "llama"}) {
    auto policy = models::load_policy(test::judge_model_dir(name));
    policy->save_pretrained(root / name);
    EXPECT_TRUE(fs::exists(root / name / "tokenizer.json")) << name;
    EXPECT_TRUE(fs::exists(root / name / "generation_config.json")) << name;
    const auto entry = test::rewards_entries("lm_cases", name)[0];
    args += " " + test::shell_quote((root / name).string()) + " " +
            test::shell_quote(test::reference_path("rewards", entry["file"].get<std::string>()).string());
  }
  const std::string script = std::string(test::kSourceDir) + "/tests/reference/check_reload_text_lm.py";
  const auto r = test::run_command(test::shell_quote(test::kPython) + " " + test::shell_quote(script) + args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> architectures;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    std::cout << line << "\n";
    architectures.push_back(j["architecture"]);
    EXPECT_LE(j["max_abs_diff"].get<double>(), 1e-4 * j["logit_std"].get<double>());
    EXPECT_EQ(j["argmax_differences"].get<int64_t>(), 0);
  }
  EXPECT_EQ(architectures, (std::vector<std::string>{"Qwen2ForCausalLM", "LlamaForCausalLM"}));
}

// A copy of the llama judge with its config.json edited and its tensors filtered/extended.
fs::path broken_copy(const std::function<void(nlohmann::json&)>& edit_config,
                     const std::function<void(io::NamedTensors&)>& edit_tensors) {
  const fs::path source = test::judge_model_dir("llama"), dir = test::scratch_dir() / "broken";
  fs::create_directories(dir);
  nlohmann::json config = io::read_json_file(source / "config.json");
  edit_config(config);
  test::write_file(dir / "config.json", config.dump(2));
  io::NamedTensors tensors;
  for (auto& [name, t] : io::load_safetensors(source / "model.safetensors")) tensors.emplace_back(name, t.clone());
  edit_tensors(tensors);
  io::save_safetensors(dir / "model.safetensors", tensors);
  return dir;
}

std::string load_error(const fs::path& dir) {
  try {
    models::load_text_causal_lm(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TextLm, BadCheckpointNamesEveryMissingUnexpectedAndMisShapedTensorAtOnce) {
  const fs::path dir = broken_copy([](nlohmann::json& c) { c["intermediate_size"] = 96; },
                                   [](io::NamedTensors& t) {
                                     std::erase_if(t, [](const auto& p) { return p.first == "model.norm.weight"; });
                                     t.emplace_back("model.extra.weight", at::zeros({2}));
                                   });
  const std::string message = load_error(dir);
  std::cout << message << "\n";
  for (const char* needle : {"model.norm.weight", "model.extra.weight", "model.layers.0.mlp.up_proj.weight",
                             "model.layers.1.mlp.down_proj.weight", "HINT"}) {
    EXPECT_NE(message.find(needle), std::string::npos) << needle;
  }
}

TEST(TextLm, UntiedCheckpointWithoutLmHeadSaysWhyItIsRequired) {
  const fs::path dir =
      broken_copy([](nlohmann::json&) {},
                  [](io::NamedTensors& t) { std::erase_if(t, [](const auto& p) { return p.first == "lm_head.weight"; }); });
  const std::string message = load_error(dir);
  EXPECT_NE(message.find("lm_head.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("tie_word_embeddings"), std::string::npos) << message;
}

TEST(TextLm, SlidingWindowQwenConfigIsRefused) {
  const fs::path source = test::judge_model_dir("qwen2"), dir = test::scratch_dir() / "sliding";
  fs::create_directories(dir);
  nlohmann::json config = io::read_json_file(source / "config.json");
  config["use_sliding_window"] = true;
  config["max_window_layers"] = 1;
  test::write_file(dir / "config.json", config.dump(2));
  const std::string message = load_error(dir);
  EXPECT_NE(message.find("sliding"), std::string::npos) << message;
  EXPECT_NE(message.find("HINT"), std::string::npos) << message;
}

TEST(TextLm, LoadPolicyPicksTheClassOfEachFamilyAndLoadsLlavaThroughItsOwnLoader) {
  EXPECT_NE(dynamic_cast<models::TextCausalLMPolicy*>(models::load_policy(test::judge_model_dir("qwen2")).get()), nullptr);
  EXPECT_NE(dynamic_cast<models::TextCausalLMPolicy*>(models::load_policy(test::judge_model_dir("llama")).get()), nullptr);
  EXPECT_NE(dynamic_cast<models::Qwen2_5_VLPolicy*>(models::load_policy(test::judge_model_dir("qwen_vl")).get()), nullptr);
  const fs::path dir = test::scratch_dir() / "llava";
  fs::create_directories(dir);
  test::write_file(dir / "config.json",
                   R"({"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"]})");
  try {
    models::load_policy(dir);
    FAIL() << "a LLaVA config without weights loaded";
  } catch (const Error& e) {  // the LLaVA loader ran: it asks for the weights, not for another family
    const std::string message = e.what();
    EXPECT_EQ(message.find("not supported"), std::string::npos) << message;
    EXPECT_NE(message.find("safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find("HINT"), std::string::npos) << message;
  }
}

TEST(TextLm, TextOnlyPolicyRefusesAnImage) {
  auto policy = models::load_policy(test::judge_model_dir("qwen2"));
  const models::PolicyPrompt prompt{{1, 2, 3}, at::zeros({4, 1176}), at::tensor({1, 2, 2}, at::kLong).view({1, 3})};
  EXPECT_THROW(policy->prefill(prompt), Error);
  EXPECT_THROW(policy->hidden_states(models::make_policy_batch({{1, 2, 3}}, {&prompt}, at::kCPU)), Error);
}

}  // namespace
}  // namespace balcap
