// Tokenizer behaviour: published ids, special tokens mid-text, round trips over the corpus,
// and the errors for bad input and unsupported tokenizer.json components.
#include <gtest/gtest.h>

#include "core/error.h"
#include "text/bpe_tokenizer.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/utf8.h"
#include "../parity/text_reference.h"

namespace balcap::test {
namespace {

using Ids = std::vector<int32_t>;

const text::Tokenizer& llama2() {
  static auto tok = text::load_tokenizer(data_path("tokenizers/llama2"));
  return *tok;
}
const text::Tokenizer& qwen() {
  static auto tok = text::load_tokenizer(reference_path("text", "qwen"));
  return *tok;
}

// Expects `fn` to throw balcap::Error whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected balcap::Error";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

fs::path write_tokenizer_json(const std::string& extra_fields) {
  auto dir = scratch_dir();
  write_file(dir / "tokenizer.json",
             R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})" + extra_fields + "}");
  return dir;
}

TEST(TextTokenizer, Llama2EncodesHelloWorldWithItsPublishedIds) {
  EXPECT_EQ(llama2().encode("Hello world"), (Ids{1, 15043, 3186}));
  EXPECT_EQ(llama2().encode("Hello world", false), (Ids{15043, 3186}));
  EXPECT_EQ(llama2().decode(Ids{1, 15043, 3186}, true), "Hello world");
}

TEST(TextTokenizer, QwenSpecialTokensHaveTheirPublishedIds) {
  EXPECT_EQ(qwen().token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen().token_to_id("<|im_end|>"), 151645);
  EXPECT_EQ(qwen().token_to_id("<|vision_start|>"), 151652);
  EXPECT_EQ(qwen().token_to_id("<|image_pad|>"), 151655);
  EXPECT_EQ(qwen().id_to_token(151655), "<|image_pad|>");
  EXPECT_TRUE(qwen().is_special(151655));
  EXPECT_FALSE(qwen().is_special(151667));  // <think> is added but not special
  EXPECT_EQ(qwen().vocab_size(), 151669);
}

TEST(TextTokenizer, SpecialTokensMidTextAreSplitOutFirst) {
  Ids ids = qwen().encode("ab<|im_start|>cd  <|image_pad|>");
  EXPECT_EQ(ids, (Ids{370, 151644, 4385, 256, 151655}));  // HF tokenizers' ids
  EXPECT_EQ(qwen().decode(ids), "ab<|im_start|>cd  <|image_pad|>");
  EXPECT_EQ(qwen().decode(ids, true), "abcd  ");
  EXPECT_EQ(llama2().encode("a </s> b"), (Ids{1, 263, 29871, 2, 29871, 289}));
}

TEST(TextTokenizer, DecodeOfEncodeIsTheNfcTextForQwenOnEveryInput) {
  auto in = load_text_inputs();
  for (size_t i = 0; i < in.texts.size(); ++i) {
    ASSERT_EQ(qwen().decode(qwen().encode(in.texts[i])), text::utf8::normalize(in.texts[i], "NFC")) << describe_input(in, i);
  }
}

TEST(TextTokenizer, DecodeOfEncodeIsTheTextForLlamaOnInputsWithoutSpecialTokens) {
  // LLaMA's normaliser prepends "▁" to each piece between special tokens, so text around a
  // special token decodes with an extra space (HF does the same); other inputs round-trip.
  auto in = load_text_inputs();
  size_t checked = 0;
  for (size_t i = 0; i < in.texts.size(); ++i) {
    const auto& t = in.texts[i];
    if (t.find("<s>") != std::string::npos || t.find("</s>") != std::string::npos || t.find("<unk>") != std::string::npos) continue;
    ASSERT_EQ(llama2().decode(llama2().encode(t, false)), t) << describe_input(in, i);
    ++checked;
  }
  EXPECT_GE(checked, 2000u);
}

TEST(TextTokenizer, InvalidUtf8InputIsAnErrorNamingTheByteOffset) {
  expect_error([] { qwen().encode("caption \xFF here"); }, {"byte offset 8", "HINT"});
  expect_error([] { llama2().encode("\xC3"); }, {"byte offset 0", "HINT"});
}

TEST(TextTokenizer, DecodingAnIdOutOfRangeNamesTheId) {
  expect_error([] { qwen().decode(Ids{9707, 999999}); }, {"999999"});
  expect_error([] { llama2().decode(Ids{-3}); }, {"-3"});
}

TEST(TextTokenizer, UnsupportedNormalizerIsAnErrorNamingIt) {
  auto dir = write_tokenizer_json(R"(, "normalizer": {"type": "Lowercase"})");
  expect_error([&] { text::load_tokenizer(dir); }, {"Lowercase", "tokenizer.json", "HINT"});
}

TEST(TextTokenizer, UnsupportedModelTypeIsAnErrorNamingIt) {
  auto dir = scratch_dir();
  write_file(dir / "tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {}}})");
  expect_error([&] { text::load_tokenizer(dir); }, {"WordPiece"});
}

TEST(TextTokenizer, UnsupportedPreTokenizerAndDecoderAreErrorsNamingThem) {
  expect_error([] { text::load_tokenizer(write_tokenizer_json(R"(, "pre_tokenizer": {"type": "Whitespace"})")); },
               {"Whitespace"});
  expect_error([] { text::load_tokenizer(write_tokenizer_json(R"(, "decoder": {"type": "WordPiece"})")); }, {"WordPiece"});
  expect_error([] {
    text::load_tokenizer(write_tokenizer_json(R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\s+"},
                                           "behavior": "Isolated", "invert": false})"));
  }, {"Split"});
}

TEST(TextTokenizer, MinimalBpeFileMergesAndDecodesWithSpaces) {
  auto tok = text::load_tokenizer(write_tokenizer_json(""));
  EXPECT_EQ(tok->encode("abba"), (Ids{2, 1, 0}));   // "ab" merged, no pre-tokenizer
  EXPECT_EQ(tok->decode(Ids{2, 1}), "ab b");         // no decoder: HF joins with spaces
}

TEST(TextTokenizer, DirectoryWithoutTokenizerFilesIsAnErrorNamingIt) {
  auto dir = scratch_dir();
  expect_error([&] { text::load_tokenizer(dir); }, {dir.string(), "tokenizer.json", "tokenizer.model"});
  expect_error([&] { text::load_tokenizer(dir / "missing.json"); }, {"missing.json"});
}

TEST(TextTokenizer, TokenizerJsonIsPreferredOverTokenizerModel) {
  auto dir = write_tokenizer_json("");
  fs::copy_file(reference_path("text", "sp_bpe.model"), dir / "tokenizer.model");
  EXPECT_NE(dynamic_cast<text::BpeTokenizer*>(text::load_tokenizer(dir).get()), nullptr);
  fs::remove(dir / "tokenizer.json");
  EXPECT_NE(dynamic_cast<text::SentencePieceTokenizer*>(text::load_tokenizer(dir).get()), nullptr);
}

TEST(TextTokenizer, NegativeTokenIdIsAnErrorNamingTheToken) {
  auto dir = scratch_dir();
  write_file(dir / "tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "zz": -4}, "merges": []}})");
  expect_error([&] { text::load_tokenizer(dir); }, {"'zz'", "-4", "HINT"});
}

TEST(TextTokenizer, TruncatedTokenizerJsonNamesTheFile) {
  auto dir = scratch_dir();
  write_file(dir / "tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a)");
  expect_error([&] { text::load_tokenizer(dir); }, {"tokenizer.json", "not valid JSON", "HINT"});
}

}  // namespace
}  // namespace balcap::test
