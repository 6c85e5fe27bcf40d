// Harness `tokenize`: arbitrary bytes through the two real vocabularies of tests/data/tokenizers,
// Qwen (byte-level BPE, NFC, the Qwen pre-tokenizer regex) and LLaMA-2 (character BPE with byte
// fallback, the "▁" normaliser): encoded with and without special tokens (invalid UTF-8 must be
// refused with balcap::Error), decoded back, and the same bytes read as little-endian int32 ids and
// decoded (ids out of range must be refused). For Qwen the round trip must give the input's NFC
// form, as BpeTokenizer::normalizes_nfc() promises (checked where no added token can split the text).
#include <cstring>
#include <stdexcept>
#include <vector>

#include "fuzz_support.h"
#include "io/gzip_file.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace balcap::fuzz {
namespace {

struct Vocabularies {
  std::unique_ptr<text::Tokenizer> qwen, llama2;
};

// Loaded once per process: the Qwen file is stored gzipped, so it is unpacked into the scratch dir.
const Vocabularies& vocabularies() {
  static const Vocabularies v = [] {
    const auto dir = test_data_dir() / "tokenizers";
    const auto qwen = write_scratch("tokenize/qwen/tokenizer.json",
                                    io::read_maybe_gzipped(dir / "qwen" / "tokenizer.json.gz"));
    return Vocabularies{text::load_tokenizer(qwen), text::load_tokenizer(dir / "llama2" / "tokenizer.json")};
  }();
  return v;
}

// decode(encode(text)) == NFC(text) for the Qwen vocabulary. Added tokens are split out before the
// normaliser (as in HF), so NFC may join across their edges ("<" + U+0338 -> U+226E): only texts
// without '<' are checked.
void check_qwen_round_trip(const text::Tokenizer& qwen, std::string_view text) {
  if (text.find('<') != std::string_view::npos) return;
  const std::string decoded = qwen.decode(qwen.encode(text, false));
  if (decoded != text::utf8::normalize(text, "NFC")) {
    throw std::logic_error("fuzz tokenize: the Qwen vocabulary does not round-trip a valid UTF-8 text to its NFC form");
  }
}

std::vector<int32_t> as_ids(Bytes input) {
  std::vector<int32_t> ids(input.size() / sizeof(int32_t));
  if (!ids.empty()) std::memcpy(ids.data(), input.data(), ids.size() * sizeof(int32_t));
  return ids;
}

void use(const text::Tokenizer& tokenizer, std::string_view text, const std::vector<int32_t>& ids) {
  accepted([&] { (void)tokenizer.decode(tokenizer.encode(text, true), true); });
  accepted([&] { (void)tokenizer.decode(ids, false); });
  accepted([&] { (void)tokenizer.decode(ids, true); });
}

}  // namespace

int tokenize(Bytes input) {
  quiet_logs();
  const Vocabularies& v = vocabularies();
  const std::string_view text = as_text(input);
  const std::vector<int32_t> ids = as_ids(input);
  use(*v.qwen, text, ids);
  use(*v.llama2, text, ids);
  if (!text::utf8::find_invalid(text)) check_qwen_round_trip(*v.qwen, text);
  return 0;
}

}  // namespace balcap::fuzz
