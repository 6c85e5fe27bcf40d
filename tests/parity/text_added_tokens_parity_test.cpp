// Added-token flags (lstrip, rstrip, single_word, normalized) against HF `tokenizers`, on
// LLaMA-2 plus five added tokens that use them (ref_text.py writes flags/tokenizer.json).
#include <gtest/gtest.h>

#include "text/bpe_tokenizer.h"
#include "text_reference.h"

namespace balcap::test {
namespace {

TEST(TextAddedTokensParity, StripSingleWordAndNormalizedFlagsMatchHfTokenizers) {
  auto tok = text::BpeTokenizer::from_file(reference_path("text", "flags/tokenizer.json"));
  auto ref = load_text_reference("hf_flags.json");
  TextInputs in;
  for (const auto& t : ref["texts"]) in.texts.push_back(t.get<std::string>());
  ASSERT_FALSE(in.texts.empty());
  expect_same_ids(in, ref["ids"], [&](const std::string& t) { return tok->encode(t, true); });
  expect_same_ids(in, ref["ids_no_special"], [&](const std::string& t) { return tok->encode(t, false); });
  for (size_t i = 0; i < in.texts.size(); ++i) {
    auto ids = ref["ids"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->decode(ids, false), ref["decoded"][i].get<std::string>()) << describe_input(in, i);
    EXPECT_EQ(tok->decode(ids, true), ref["decoded_skip"][i].get<std::string>()) << describe_input(in, i);
  }
}

}  // namespace
}  // namespace balcap::test
