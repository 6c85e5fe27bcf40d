// libsentencepiece behind the Tokenizer seam; its status errors become balcap::Error.
#include "text/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.h"
#include "text/utf8.h"

namespace balcap::text {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // "▁" U+2581, sentencepiece's space

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  BALCAP_CHECK(in, "cannot open {}\nHINT: check the path and permissions", file.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})\nHINT: the file is damaged or truncated; copy it again", file.string(), e.what());
  }
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& model_file)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), path_(model_file.string()) {
  BALCAP_CHECK(std::filesystem::is_regular_file(model_file),
               "sentencepiece model {} does not exist\nHINT: pass the tokenizer.model file or its directory", path_);
  sentencepiece::util::Status status;
  try {
    status = sp_->Load(path_);
  } catch (const std::exception& e) {  // darts-clone, the trie inside, throws on some damaged models
    status = sentencepiece::util::Status(sentencepiece::util::StatusCode::kInternal, e.what());
  }
  BALCAP_CHECK(status.ok(), "{}: cannot load sentencepiece model: {}\nHINT: the file must be a sentencepiece "
               "ModelProto (tokenizer.model); copy it again if truncated", path_, status.ToString());
  vocab_size_ = sp_->GetPieceSize();
  const auto config = model_file.parent_path() / "tokenizer_config.json";
  if (std::filesystem::is_regular_file(config)) load_added_tokens(config);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

void SentencePieceTokenizer::load_added_tokens(const std::filesystem::path& config_file) {
  const nlohmann::json config = read_json(config_file);
  const auto it = config.find("added_tokens_decoder");
  if (it == config.end()) return;
  try {
    for (const auto& [key, t] : it->items()) {
      constexpr int64_t kMaxIds = int64_t{1} << 24;
      const int64_t id = std::stoll(key);
      BALCAP_CHECK(id >= 0 && id < kMaxIds, "{}: added token '{}' has id {}, outside [0, {})\nHINT: the file is "
                   "damaged; ids are non-negative integers", config_file.string(), t.at("content").dump(), key, kMaxIds);
      AddedToken a{static_cast<int32_t>(id), t.at("content").get<std::string>(), t.value("special", false),
                   t.value("lstrip", false), t.value("rstrip", false), t.value("single_word", false), false};
      BALCAP_CHECK(id >= sp_->GetPieceSize() || sp_->IdToPiece(a.id) == a.content,
                   "{}: added token {} = '{}' but {} has '{}' at that id\nHINT: the tokenizer_config.json belongs "
                   "to another tokenizer.model", config_file.string(), id, a.content, path_, sp_->IdToPiece(a.id));
      added_by_id_[a.id] = added_tokens_.size();
      added_tokens_.push_back(a);
      vocab_size_ = std::max(vocab_size_, a.id + 1);
    }
  } catch (const std::exception& e) {
    if (dynamic_cast<const Error*>(&e)) throw;
    fail("{}: unexpected added_tokens_decoder layout ({})\nHINT: entries are \"id\": {{\"content\": ..., "
         "\"special\": ...}}", config_file.string(), e.what());
  }
  for (int32_t id = sp_->GetPieceSize(); id < vocab_size_; ++id) {
    BALCAP_CHECK(added(id) != nullptr, "{}: the added tokens leave id {} without a token (model {} has {} "
                 "pieces)\nHINT: added ids must follow the model's pieces without gaps", config_file.string(), id,
                 path_, sp_->GetPieceSize());
  }
  matcher_ = AddedTokenMatcher(added_tokens_);
}

void SentencePieceTokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<int> ids;
  auto status = sp_->Encode(text, &ids);
  BALCAP_CHECK(status.ok(), "{}: sentencepiece encode failed: {}\nHINT: check the input text", path_,
               status.ToString());
  out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  utf8::check_valid(text, "tokenizer input");
  std::vector<int32_t> out;
  if (add_special_tokens && sp_->bos_id() >= 0) out.push_back(sp_->bos_id());
  if (matcher_.empty()) {
    encode_plain(text, out);
    return out;
  }
  std::vector<TextSegment> segments;
  matcher_.split(text, segments);
  for (const auto& s : segments) {
    if (s.id >= 0) {
      out.push_back(s.id);
    } else {
      encode_plain(s.text, out);
    }
  }
  return out;
}

void SentencePieceTokenizer::check_id(int32_t id) const {
  BALCAP_CHECK(id >= 0 && id < vocab_size(),
               "token id {} is out of range for {} (vocabulary size {})\nHINT: ids must come from this tokenizer", id,
               path_, vocab_size());
}

const AddedToken* SentencePieceTokenizer::added(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it == added_by_id_.end() ? nullptr : &added_tokens_[it->second];
}

void SentencePieceTokenizer::decode_run(std::span<const int32_t> run, bool first, std::string& out) const {
  if (run.empty()) return;
  std::string text;
  auto status = sp_->Decode(std::vector<int>(run.begin(), run.end()), &text);
  BALCAP_CHECK(status.ok(), "{}: sentencepiece decode failed: {}\nHINT: check the ids", path_, status.ToString());
  // sentencepiece drops the dummy-prefix space of a run's first piece; HF drops it only at the start.
  if (!first && sp_->IdToPiece(run[0]).starts_with(kSpaceSymbol)) out += ' ';
  out += text;
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string out;
  std::vector<int32_t> run;
  bool emitted = false;  // anything decoded before the current run (HF strips only the first space)
  for (int32_t id : ids) {
    check_id(id);
    if (skip_special_tokens && is_special(id)) continue;
    const AddedToken* a = added(id);
    if (a == nullptr) {
      run.push_back(id);
      continue;
    }
    decode_run(run, !emitted, out);
    emitted = emitted || !run.empty();
    run.clear();
    out += a->content;
    emitted = true;
  }
  decode_run(run, !emitted, out);
  return out;
}

std::optional<int32_t> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  for (const auto& a : added_tokens_) {
    if (a.content == token) return a.id;
  }
  int id = sp_->PieceToId(token);
  // PieceToId answers unk for unknown pieces; only the unk piece itself maps to unk.
  if (id < 0 || sp_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

std::string SentencePieceTokenizer::id_to_token(int32_t id) const {
  check_id(id);
  if (const AddedToken* a = added(id)) return a->content;
  return sp_->IdToPiece(id);
}

int32_t SentencePieceTokenizer::vocab_size() const { return vocab_size_; }

bool SentencePieceTokenizer::is_special(int32_t id) const {
  if (const AddedToken* a = added(id)) return a->special;
  return id >= 0 && id < sp_->GetPieceSize() && sp_->IsControl(id);
}

}  // namespace balcap::text
