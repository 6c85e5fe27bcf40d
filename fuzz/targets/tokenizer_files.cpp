// Harnesses `tokenizer_json` and `tokenizer_model`: the bytes are a tokenizer.json (HF tokenizers)
// or a tokenizer.model (sentencepiece ModelProto), loaded by text::load_tokenizer from a scratch
// directory exactly as from a model directory. A tokenizer that loads is then used as the trainer
// uses one: probe texts encoded (added tokens, normaliser, pre-tokenizer, model, post-processor),
// the ids decoded back with and without special tokens, single tokens looked up both ways.
#include <array>
#include <string>

#include "fuzz_support.h"
#include "text/tokenizer.h"

namespace balcap::fuzz {
namespace {

// Texts that reach every stage: plain words, spaces and newlines, digits, CJK, emoji, a lone
// combining mark (NFC), byte-fallback bytes, and the added tokens of the Qwen and LLaMA families.
constexpr std::array<std::string_view, 6> kProbeTexts = {
    "Hello world, a cat sits on the mat.",
    "  two  spaces\n\nnewlines\tand 12345 digits",
    "<|im_start|>user\nDescribe the image.<|im_end|>\n<s></s><unk><image>",
    "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80 cafe\xCC\x81",
    "\xE2\x96\x81\xE2\x96\x81 already spaced \xE2\x96\x81",
    "",
};

void use_tokenizer(const text::Tokenizer& tokenizer) {
  for (std::string_view text : kProbeTexts) {
    for (bool special : {true, false}) {
      const std::vector<int32_t> ids = tokenizer.encode(text, special);
      (void)tokenizer.decode(ids, false);
      (void)tokenizer.decode(ids, true);
      for (int32_t id : ids) {
        (void)tokenizer.is_special(id);
        (void)tokenizer.token_to_id(tokenizer.id_to_token(id));
      }
    }
  }
  // The first ids, whatever the texts above produced (byte tokens, specials, gaps in the vocabulary).
  const int32_t first = std::min<int32_t>(tokenizer.vocab_size(), 300);
  for (int32_t id = 0; id < first; ++id) accepted([&] { (void)tokenizer.decode(std::span(&id, 1), false); });
}

int load_and_use(const std::string& file_name, Bytes input) {
  quiet_logs();
  const auto file = write_scratch(file_name, as_text(input));
  accepted([&] { use_tokenizer(*text::load_tokenizer(file)); });
  return 0;
}

}  // namespace

int tokenizer_json(Bytes input) { return load_and_use("tokenizer_json/tokenizer.json", input); }

int tokenizer_model(Bytes input) { return load_and_use("tokenizer_model/tokenizer.model", input); }

}  // namespace balcap::fuzz
