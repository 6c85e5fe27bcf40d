#pragma once
// Private to src/text: SentencePieceTokenizer: a tokenizer.model run by libsentencepiece, so ids equal the python
// `sentencepiece` package. encode(text, add_special_tokens=true) prepends BOS when the model
// has one (LLaMA's convention); false gives exactly SentencePieceProcessor.encode(text).
// decode follows sentencepiece: control tokens (<s>, </s>) decode to nothing either way.
#include <memory>

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
  void check_id(int32_t id) const;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_;
};

}  // namespace balcap::text
