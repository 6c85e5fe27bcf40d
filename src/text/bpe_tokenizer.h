#pragma once
// Private to src/text: BpeTokenizer: a HF tokenizer.json with a BPE model, driven by what the file says.
// Supported pipeline (anything else -> balcap::Error naming the component):
//   added_tokens    split out first (see added_tokens.h)
//   normalizer      see normalizer.h (Qwen: NFC; LLaMA: Prepend "▁" + Replace " " -> "▁")
//   pre_tokenizer   null | ByteLevel(use_regex=false) | Sequence[Split(Qwen regex, Isolated),
//                   ByteLevel(use_regex=false)]
//   model           BPE (byte-level symbols after a ByteLevel pre-tokenizer, else characters
//                   with optional byte_fallback)
//   post_processor  null | ByteLevel | TemplateProcessing (single template) | Sequence of these
//   decoder         see token_decoder.h
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <unordered_map>

#include "text/added_tokens.h"
#include "text/bpe_model.h"
#include "text/normalizer.h"
#include "text/token_decoder.h"
#include "text/tokenizer.h"

namespace balcap::text {

class BpeTokenizer : public Tokenizer {
 public:
  // `where` names the source (the file path) in error messages.
  BpeTokenizer(const nlohmann::json& spec, const std::string& where);
  static std::unique_ptr<BpeTokenizer> from_file(const std::filesystem::path& path);

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  bool is_special(int32_t id) const override;
  // Whether encode normalises to NFC (then decode(encode(x)) == NFC(x)).
  bool normalizes_nfc() const { return normalizer_.uses_nfc(); }

 private:
  void load_model(const nlohmann::json& model, const std::string& where);
  void load_added_tokens(const nlohmann::json& list, const std::string& where);
  void load_pre_tokenizer(const nlohmann::json& spec, const std::string& where);
  void load_post_processor(const nlohmann::json& spec, const std::string& where);
  // Normalised plain text -> ids (pre-tokenizer + model).
  void encode_plain(std::string_view normalized, std::vector<int32_t>& out) const;
  const AddedToken* added(int32_t id) const;

  Normalizer normalizer_;
  TokenDecoder decoder_;
  std::unique_ptr<BpeModel> model_;
  bool qwen_split_ = false;  // Split with the Qwen regex before the model
  bool byte_level_ = false;  // ByteLevel pre-tokenizer: byte symbols
  std::vector<AddedToken> added_tokens_;
  std::unordered_map<int32_t, size_t> added_by_id_;
  std::unordered_map<std::string, int32_t> added_by_content_;  // content as written in the file
  AddedTokenMatcher raw_matcher_;         // normalized=false tokens, on the input text
  AddedTokenMatcher normalized_matcher_;  // normalized=true tokens, on normalised segments
  std::vector<int32_t> prefix_ids_, suffix_ids_;  // post-processor: around the sequence
  int32_t vocab_size_ = 0;
};

}  // namespace balcap::text
