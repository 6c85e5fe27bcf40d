#pragma once
// Private to src/text: SentencePieceTokenizer: a tokenizer.model run by libsentencepiece, so ids equal the python
// `sentencepiece` package. encode(text, add_special_tokens=true) prepends BOS when the model
// has one (LLaMA's convention); false gives exactly SentencePieceProcessor.encode(text).
//
// Added tokens: when a tokenizer_config.json sits beside the model, its `added_tokens_decoder`
// ({"32000": {"content": "<image>", "special": true, ...}}) is read as transformers does. Those
// tokens are split out of the text first (leftmost-longest, as tokenizer.json's added tokens), each
// plain segment between them is encoded by sentencepiece on its own: LLaMA's legacy behaviour, where
// every segment gets the dummy-prefix "▁" (so `<image>\n` encodes as 32000, 29871, 13). Ids beyond
// the model (LLaVA's <image> = 32000, <pad> = 32001) extend the vocabulary. Decoding then follows
// HF: added tokens decode to their content (special ones dropped with skip_special_tokens), each
// run of model ids decodes through sentencepiece, and only the output's very first dummy-prefix
// space is stripped.
// Without that file: pure sentencepiece; control tokens (<s>, </s>) decode to nothing either way.
#include <map>
#include <memory>

#include "text/added_tokens.h"
#include "text/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace balcap::text {

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& model_file);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  int32_t vocab_size() const override;
  bool is_special(int32_t id) const override;

 private:
  void load_added_tokens(const std::filesystem::path& config_file);
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const;
  // Decodes ids[begin, end) (model ids only) and appends; `first` keeps sentencepiece's strip of
  // the dummy-prefix space, otherwise the run's leading "▁" stays a space.
  void decode_run(std::span<const int32_t> run, bool first, std::string& out) const;
  const AddedToken* added(int32_t id) const;
  void check_id(int32_t id) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_;
  std::vector<AddedToken> added_tokens_;
  std::map<int32_t, size_t> added_by_id_;  // id -> index into added_tokens_
  AddedTokenMatcher matcher_;
  int32_t vocab_size_ = 0;
};

}  // namespace balcap::text
