#pragma once
// The Tokenizer seam: text <-> token ids, equal to HF `tokenizers` (tokenizer.json) or to
// sentencepiece (tokenizer.model). Implementations: BpeTokenizer, SentencePieceTokenizer.
// All methods are const and safe to call from several threads at once.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace balcap::text {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text -> ids. Added/special tokens in the text are split out first (as HF does);
  // add_special_tokens applies the post-processor (e.g. LLaMA's BOS), like HF
  // `Tokenizer.encode(text, add_special_tokens=True)`. Invalid UTF-8 -> balcap::Error.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const = 0;

  // Ids -> text, byte-exact with HF `Tokenizer.decode(ids, skip_special_tokens=...)`.
  // An id outside [0, vocab_size()) -> balcap::Error naming it.
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const = 0;

  // Token string (as stored in the vocabulary, or an added token's content) -> id.
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // Id -> token string as stored in the vocabulary; an id out of range -> balcap::Error.
  virtual std::string id_to_token(int32_t id) const = 0;
  // Number of ids: 1 + the largest id of the model vocabulary and the added tokens.
  virtual int32_t vocab_size() const = 0;
  // Whether `id` is a special token (skipped by decode(..., skip_special_tokens=true)).
  virtual bool is_special(int32_t id) const = 0;
};

// Loads `dir_or_file`: a tokenizer.json or tokenizer.model file, or a directory holding one
// (tokenizer.json preferred). Neither present -> balcap::Error naming the directory.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir_or_file);

}  // namespace balcap::text
