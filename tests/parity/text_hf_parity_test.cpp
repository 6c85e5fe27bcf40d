// BpeTokenizer against HF `tokenizers` (ref_text.py) on every corpus line and extra string,
// for the three real vocabularies: Qwen (byte-level BPE, NFC, Qwen regex) and LLaMA-2 /
// Mistral (metaspace normaliser, BPE with byte fallback, BOS post-processor).
#include <gtest/gtest.h>

#include "text/bpe_tokenizer.h"
#include "text_reference.h"

namespace balcap::test {
namespace {

struct Case {
  std::string name;
  fs::path file;
};

Case qwen() { return {"qwen", reference_path("text", "qwen/tokenizer.json")}; }
Case llama2() { return {"llama2", data_path("tokenizers/llama2/tokenizer.json")}; }
Case mistral() { return {"mistral", data_path("tokenizers/mistral/tokenizer.json")}; }

void check_encode(const Case& c) {
  auto tok = text::BpeTokenizer::from_file(c.file);
  auto in = load_text_inputs();
  auto ref = load_text_reference("hf_" + c.name + ".json");
  ASSERT_GE(in.corpus_lines, 2000u) << "the parity corpus must hold at least 2,000 lines";
  ASSERT_EQ(ref["corpus_lines"].get<size_t>(), in.corpus_lines);
  expect_same_ids(in, ref["ids"], [&](const std::string& t) { return tok->encode(t, true); });
  expect_same_ids(in, ref["ids_no_special"], [&](const std::string& t) { return tok->encode(t, false); });
}

void check_decode(const Case& c) {
  auto tok = text::BpeTokenizer::from_file(c.file);
  auto in = load_text_inputs();
  auto ref = load_text_reference("hf_" + c.name + ".json");
  for (size_t i = 0; i < in.texts.size(); ++i) {
    auto ids = ref["ids"][i].get<std::vector<int32_t>>();
    ASSERT_EQ(tok->decode(ids, false), ref["decoded"][i].get<std::string>()) << describe_input(in, i);
    ASSERT_EQ(tok->decode(ids, true), ref["decoded_skip"][i].get<std::string>()) << describe_input(in, i);
    // The first half of the ids may end inside a multi-byte character: U+FFFD handling.
    std::span<const int32_t> half(ids.data(), ref["prefix_len"][i].get<size_t>());
    ASSERT_EQ(tok->decode(half, false), ref["decoded_prefix"][i].get<std::string>()) << describe_input(in, i);
  }
}

// Random strings (ref_text.py, fixed seed): ids and decode equal HF.
void check_random(const Case& c) {
  auto tok = text::BpeTokenizer::from_file(c.file);
  auto ref = load_text_reference("hf_random_" + c.name + ".json");
  TextInputs in;
  for (const auto& t : ref["texts"]) in.texts.push_back(t.get<std::string>());
  ASSERT_GE(in.texts.size(), 2000u);
  expect_same_ids(in, ref["ids"], [&](const std::string& t) { return tok->encode(t, true); });
  for (size_t i = 0; i < in.texts.size(); ++i) {
    auto ids = ref["ids"][i].get<std::vector<int32_t>>();
    ASSERT_EQ(tok->decode(ids, false), ref["decoded"][i].get<std::string>()) << describe_input(in, i);
  }
}

TEST(TextHfParity, QwenIdsEqualHfTokenizersOnEveryInput) { check_encode(qwen()); }
TEST(TextHfParity, QwenDecodeEqualsHfTokenizersByteForByte) { check_decode(qwen()); }
TEST(TextHfParity, Llama2IdsEqualHfTokenizersOnEveryInput) { check_encode(llama2()); }
TEST(TextHfParity, Llama2DecodeEqualsHfTokenizersByteForByte) { check_decode(llama2()); }
TEST(TextHfParity, MistralIdsEqualHfTokenizersOnEveryInput) { check_encode(mistral()); }
TEST(TextHfParity, MistralDecodeEqualsHfTokenizersByteForByte) { check_decode(mistral()); }

TEST(TextHfParity, QwenMatchesHfTokenizersOnRandomStrings) { check_random(qwen()); }
TEST(TextHfParity, Llama2MatchesHfTokenizersOnRandomStrings) { check_random(llama2()); }

}  // namespace
}  // namespace balcap::test
