#pragma once
// Private to src/text: The BPE model of HF `tokenizers` (model.type "BPE"): vocabulary, merge ranks, and the merge
// loop of one pre-tokenized word. Two ways to split a word into initial symbols:
//   - byte-level (Qwen): one symbol per byte, the byte's GPT-2 alphabet token;
//   - characters (LLaMA): one symbol per UTF-8 character; a character missing from the
//     vocabulary becomes its <0xXX> byte tokens (byte_fallback) or the unknown token.
#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace balcap::text {

struct BpeOptions {
  bool byte_fallback = false;
  std::optional<int32_t> unk_id;
  bool fuse_unk = false;
  bool ignore_merges = false;  // a word that is itself in the vocabulary is taken whole
};

class BpeModel {
 public:
  // tokens[id] = token string ("" for ids the model does not define); merges in rank order.
  BpeModel(std::vector<std::string> tokens, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options);

  // Appends the ids of one word given as raw bytes (byte-level vocabularies).
  void encode_bytes(std::string_view bytes, std::vector<int32_t>& out) const;
  // Appends the ids of one word of valid UTF-8 characters (character vocabularies).
  void encode_chars(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string& id_to_token(int32_t id) const { return tokens_[static_cast<size_t>(id)]; }
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }

 private:
  // Merge table: (left id, right id) -> (rank, merged id), open addressing on 64-bit keys.
  struct MergeTable {
    struct Slot {
      uint64_t key = ~0ull;
      uint32_t rank = 0;
      int32_t merged = -1;
    };
    std::vector<Slot> slots;
    uint64_t mask = 0;
    void reserve(size_t n);
    void insert(int32_t left, int32_t right, uint32_t rank, int32_t merged);
    const Slot* find(int32_t left, int32_t right) const;
  };

  // Words already encoded (as HF's BPE cache: words under 256 bytes, at most 10,000 of them).
  struct WordHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using WordCache = std::unordered_map<std::string, std::vector<int32_t>, WordHash, std::equal_to<>>;
  bool cached(std::string_view word, std::vector<int32_t>& out) const;
  void remember(std::string_view word, const std::vector<int32_t>& ids) const;

  void encode_bytes_uncached(std::string_view bytes, std::vector<int32_t>& symbols) const;
  void encode_chars_uncached(std::string_view word, std::vector<int32_t>& symbols) const;
  void merge(std::vector<int32_t>& symbols) const;
  void push_unknown(std::vector<int32_t>& symbols, bool& last_was_unk) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> vocab_;
  MergeTable merges_;
  BpeOptions options_;
  int32_t byte_level_ids_[256];  // byte -> id of its GPT-2 alphabet token, -1 if absent
  int32_t fallback_ids_[256];    // byte -> id of "<0xXX>", -1 if absent
  std::unordered_map<uint32_t, int32_t> char_ids_;  // code point -> id of its one-character token
  mutable WordCache cache_;
  mutable std::shared_mutex cache_mutex_;
};

}  // namespace balcap::text
