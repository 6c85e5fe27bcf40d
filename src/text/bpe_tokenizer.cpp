// tokenizer.json -> BpeTokenizer, and the encode/decode pipelines (HF order: added tokens,
// normaliser, added tokens of normalised text, pre-tokenizer, model, post-processor).
#include "text/bpe_tokenizer.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "text/qwen_pretokenizer.h"
#include "text/utf8.h"

namespace balcap::text {
namespace {

std::pair<std::string, std::string> parse_merge(const nlohmann::json& m, const std::string& where) {
  if (m.is_array() && m.size() == 2) return {m[0].get<std::string>(), m[1].get<std::string>()};
  if (m.is_string()) {
    auto s = m.get<std::string>();
    auto space = s.find(' ');
    if (space != std::string::npos && s.find(' ', space + 1) == std::string::npos) {
      return {s.substr(0, space), s.substr(space + 1)};
    }
  }
  fail("{}: bad BPE merge {}\nHINT: merges must be \"a b\" strings or [\"a\", \"b\"] pairs", where, m.dump());
}

// Ids index arrays: refuse negative or absurdly large ones before allocating.
void check_id(const nlohmann::json& id, const std::string& token, const std::string& where) {
  constexpr int64_t kMaxIds = int64_t{1} << 24;
  BALCAP_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < kMaxIds,
               "{}: token '{}' has id {}, outside [0, {})\nHINT: the tokenizer.json is damaged; ids are "
               "non-negative integers", where, token, id.dump(), kMaxIds);
}

void check_byte_level(const nlohmann::json& spec, const std::string& where) {
  BALCAP_CHECK(!spec.value("use_regex", true) && !spec.value("add_prefix_space", false),
               "{}: unsupported ByteLevel pre-tokenizer settings {}\nHINT: balcap supports ByteLevel with "
               "use_regex=false and add_prefix_space=false (the Qwen layout)",
               where, spec.dump());
}

}  // namespace

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  BALCAP_CHECK(in, "cannot open tokenizer file {}\nHINT: check the path and permissions", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json spec;
  try {
    spec = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})\nHINT: the file is damaged or truncated; copy it again", path.string(), e.what());
  }
  try {
    return std::make_unique<BpeTokenizer>(spec, path.string());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: unexpected tokenizer.json layout ({})\nHINT: export it with HF tokenizers >= 0.13", path.string(),
         e.what());
  }
}

BpeTokenizer::BpeTokenizer(const nlohmann::json& spec, const std::string& where)
    : normalizer_(Normalizer::from_json(spec.value("normalizer", nlohmann::json()), where)),
      decoder_(TokenDecoder::from_json(spec.value("decoder", nlohmann::json()), where)) {
  load_model(spec.at("model"), where);
  load_added_tokens(spec.value("added_tokens", nlohmann::json::array()), where);
  load_pre_tokenizer(spec.value("pre_tokenizer", nlohmann::json()), where);
  load_post_processor(spec.value("post_processor", nlohmann::json()), where);
}

void BpeTokenizer::load_model(const nlohmann::json& model, const std::string& where) {
  std::string type = model.value("type", "BPE");
  BALCAP_CHECK(type == "BPE", "{}: unsupported model type '{}'\nHINT: balcap reads BPE tokenizer.json files; "
               "for a sentencepiece tokenizer pass its tokenizer.model", where, type);
  BALCAP_CHECK(model.value("dropout", nlohmann::json()).is_null(),
               "{}: BPE dropout is set\nHINT: dropout is for training; set \"dropout\": null", where);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto v = model.value(key, nlohmann::json());
    BALCAP_CHECK(v.is_null() || v.get<std::string>().empty(),
                 "{}: unsupported BPE option {}={}\nHINT: balcap supports BPE without subword prefixes/suffixes", where,
                 key, v.dump());
  }
  const auto& vocab = model.at("vocab");
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab.items()) {
    check_id(id, token, where);
    max_id = std::max(max_id, id.get<int32_t>());
  }
  // One slot per id up to the largest: a few entries must not ask for millions of slots (fuzzing:
  // {"a": 16777215} took 0.7 GB). Real vocabularies run from 0 with at most small gaps.
  BALCAP_CHECK(max_id < 2 * static_cast<int64_t>(vocab.size()) + 1024,
               "{}: model.vocab has {} tokens but ids up to {}\nHINT: the tokenizer.json is damaged; vocabulary ids "
               "run from 0 without large gaps", where, vocab.size(), max_id);
  std::vector<std::string> tokens(static_cast<size_t>(max_id + 1));
  for (const auto& [token, id] : vocab.items()) tokens[static_cast<size_t>(id.get<int32_t>())] = token;
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& m : model.at("merges")) merges.push_back(parse_merge(m, where));

  BpeOptions options;
  options.byte_fallback = model.value("byte_fallback", false);
  options.fuse_unk = model.value("fuse_unk", false);
  options.ignore_merges = model.value("ignore_merges", false);
  auto unk = model.value("unk_token", nlohmann::json());
  if (!unk.is_null()) {
    auto it = vocab.find(unk.get<std::string>());
    BALCAP_CHECK(it != vocab.end(), "{}: unk_token '{}' is not in the vocabulary\nHINT: fix model.unk_token", where,
                 unk.get<std::string>());
    options.unk_id = it->get<int32_t>();
  }
  model_ = std::make_unique<BpeModel>(std::move(tokens), merges, options);
  vocab_size_ = model_->size();
}

void BpeTokenizer::load_added_tokens(const nlohmann::json& list, const std::string& where) {
  std::vector<AddedToken> raw, normalized;
  for (const auto& t : list) {
    check_id(t.at("id"), t.at("content").get<std::string>(), where);
    AddedToken a{t.at("id").get<int32_t>(), t.at("content").get<std::string>(), t.value("special", false),
                 t.value("lstrip", false),  t.value("rstrip", false),            t.value("single_word", false),
                 t.value("normalized", false)};
    added_by_content_[a.content] = a.id;
    // HF matches a normalized token's normalised content, and id_to_token/decode give it too.
    if (a.normalized) a.content = normalizer_.apply(a.content);
    (a.normalized ? normalized : raw).push_back(a);
    added_by_id_[a.id] = added_tokens_.size();
    added_tokens_.push_back(a);
    vocab_size_ = std::max(vocab_size_, a.id + 1);
  }
  raw_matcher_ = AddedTokenMatcher(std::move(raw));
  normalized_matcher_ = AddedTokenMatcher(std::move(normalized));
}

void BpeTokenizer::load_pre_tokenizer(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return;
  std::vector<nlohmann::json> parts;
  if (spec.value("type", "") == "Sequence") {
    for (const auto& p : spec.at("pretokenizers")) parts.push_back(p);
  } else {
    parts.push_back(spec);
  }
  for (const auto& p : parts) {
    std::string type = p.value("type", "");
    if (type == "Split" && !qwen_split_ && !byte_level_) {
      auto pattern = p.at("pattern").value("Regex", std::string());
      BALCAP_CHECK(pattern == kQwenPretokenizerRegex && p.value("behavior", "") == "Isolated" &&
                       !p.value("invert", false),
                   "{}: unsupported Split pre-tokenizer {}\nHINT: balcap implements the Qwen regex split "
                   "(behavior Isolated) only",
                   where, p.dump().substr(0, 300));
      qwen_split_ = true;
    } else if (type == "ByteLevel" && !byte_level_) {
      check_byte_level(p, where);
      byte_level_ = true;
    } else {
      fail("{}: unsupported pre_tokenizer '{}' ({})\nHINT: balcap supports none, ByteLevel, or the Qwen "
           "Split followed by ByteLevel",
           where, type, p.dump().substr(0, 300));
    }
  }
}

void BpeTokenizer::load_post_processor(const nlohmann::json& spec, const std::string& where) {
  if (spec.is_null()) return;
  std::string type = spec.value("type", "");
  if (type == "Sequence") {
    for (const auto& p : spec.at("processors")) load_post_processor(p, where);
  } else if (type == "TemplateProcessing") {
    bool seen_sequence = false;
    for (const auto& piece : spec.at("single")) {
      if (piece.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      auto name = piece.at("SpecialToken").at("id").get<std::string>();
      auto ids = spec.at("special_tokens").at(name).at("ids").get<std::vector<int32_t>>();
      auto& target = seen_sequence ? suffix_ids_ : prefix_ids_;
      target.insert(target.end(), ids.begin(), ids.end());
    }
  } else if (type != "ByteLevel") {  // ByteLevel only adjusts offsets
    fail("{}: unsupported post_processor '{}'\nHINT: balcap supports TemplateProcessing, ByteLevel and "
         "Sequence of these",
         where, type);
  }
}

void BpeTokenizer::encode_plain(std::string_view normalized, std::vector<int32_t>& out) const {
  if (!qwen_split_) {
    byte_level_ ? model_->encode_bytes(normalized, out) : model_->encode_chars(normalized, out);
    return;
  }
  thread_local std::vector<std::string_view> words;
  words.clear();
  qwen_pretokenize(normalized, words);
  for (auto w : words) byte_level_ ? model_->encode_bytes(w, out) : model_->encode_chars(w, out);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  utf8::check_valid(text, "tokenizer input");
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = prefix_ids_;
  std::vector<TextSegment> segments, inner;
  raw_matcher_.split(text, segments);
  for (const auto& seg : segments) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    std::string normalized = normalizer_.apply(std::string(seg.text));
    if (normalized_matcher_.empty()) {
      encode_plain(normalized, ids);
      continue;
    }
    inner.clear();
    normalized_matcher_.split(normalized, inner);
    for (const auto& s : inner) s.id >= 0 ? ids.push_back(s.id) : encode_plain(s.text, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

const AddedToken* BpeTokenizer::added(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it == added_by_id_.end() ? nullptr : &added_tokens_[it->second];
}

bool BpeTokenizer::is_special(int32_t id) const {
  const AddedToken* a = added(id);
  return a != nullptr && a->special;
}

std::string BpeTokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = added(id)) return a->content;
  BALCAP_CHECK(id >= 0 && id < model_->size() && !model_->id_to_token(id).empty(),
               "token id {} is not in the vocabulary (size {})\nHINT: ids must come from this tokenizer", id,
               vocab_size_);
  return model_->id_to_token(id);
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    tokens.push_back(id_to_token(id));
  }
  return decoder_.decode(std::move(tokens));
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  auto it = added_by_content_.find(std::string(token));
  if (it != added_by_content_.end()) return it->second;
  return model_->token_to_id(token);
}

}  // namespace balcap::text
