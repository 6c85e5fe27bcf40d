// libsentencepiece behind the Tokenizer seam; its status errors become balcap::Error.
#include "text/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "core/error.h"
#include "text/utf8.h"

namespace balcap::text {

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& model_file)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), path_(model_file.string()) {
  BALCAP_CHECK(std::filesystem::is_regular_file(model_file),
               "sentencepiece model {} does not exist\nHINT: pass the tokenizer.model file or its directory", path_);
  auto status = sp_->Load(path_);
  BALCAP_CHECK(status.ok(), "{}: cannot load sentencepiece model: {}\nHINT: the file must be a sentencepiece "
               "ModelProto (tokenizer.model); copy it again if truncated", path_, status.ToString());
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  utf8::check_valid(text, "tokenizer input");
  std::vector<int> ids;
  auto status = sp_->Encode(text, &ids);
  BALCAP_CHECK(status.ok(), "{}: sentencepiece encode failed: {}\nHINT: check the input text", path_,
               status.ToString());
  std::vector<int32_t> out;
  out.reserve(ids.size() + 1);
  if (add_special_tokens && sp_->bos_id() >= 0) out.push_back(sp_->bos_id());
  out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

void SentencePieceTokenizer::check_id(int32_t id) const {
  BALCAP_CHECK(id >= 0 && id < vocab_size(),
               "token id {} is out of range for {} (vocabulary size {})\nHINT: ids must come from this tokenizer", id,
               path_, vocab_size());
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<int> kept;
  kept.reserve(ids.size());
  for (int32_t id : ids) {
    check_id(id);
    if (!(skip_special_tokens && is_special(id))) kept.push_back(id);
  }
  std::string text;
  auto status = sp_->Decode(kept, &text);
  BALCAP_CHECK(status.ok(), "{}: sentencepiece decode failed: {}\nHINT: check the ids", path_, status.ToString());
  return text;
}

std::optional<int32_t> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  int id = sp_->PieceToId(token);
  // PieceToId answers unk for unknown pieces; only the unk piece itself maps to unk.
  if (id < 0 || sp_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

std::string SentencePieceTokenizer::id_to_token(int32_t id) const {
  check_id(id);
  return sp_->IdToPiece(id);
}

int32_t SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

bool SentencePieceTokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && sp_->IsControl(id);
}

}  // namespace balcap::text
