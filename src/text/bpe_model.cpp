// BPE merging as HF `tokenizers` does it (models/bpe/word.rs semantics): all adjacent pairs go
// into a min-heap keyed by (merge rank, position); the top pair is merged when still current,
// then the pairs it forms with its neighbours are pushed. O(n log n) per word.
#include "text/bpe_model.h"

#include <algorithm>
#include <mutex>

#include "core/error.h"
#include "text/byte_level.h"
#include "text/utf8.h"

namespace balcap::text {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

uint64_t slot_of(uint64_t key, uint64_t mask) { return (key * 0x9E3779B97F4A7C15ull >> 17) & mask; }

// One heap entry: merge symbols[pos] with its successor into `merged` at `rank`.
struct Candidate {
  uint32_t rank;
  int32_t pos;
  int32_t merged;
  // std::push_heap builds a max-heap: "less" means later rank, then later position.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

struct Symbol {
  int32_t id;
  int32_t prev, next;  // neighbours in the linked list, -1 at the ends
  bool alive;
};

}  // namespace

void BpeModel::MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  slots.assign(cap, Slot{});
  mask = cap - 1;
}

void BpeModel::MergeTable::insert(int32_t left, int32_t right, uint32_t rank, int32_t merged) {
  uint64_t key = pair_key(left, right);
  for (uint64_t s = slot_of(key, mask);; s = (s + 1) & mask) {
    if (slots[s].key == ~0ull || slots[s].key == key) {
      slots[s] = Slot{key, rank, merged};  // a repeated pair keeps its last rank, as HF's HashMap
      return;
    }
  }
}

const BpeModel::MergeTable::Slot* BpeModel::MergeTable::find(int32_t left, int32_t right) const {
  uint64_t key = pair_key(left, right);
  for (uint64_t s = slot_of(key, mask);; s = (s + 1) & mask) {
    if (slots[s].key == key) return &slots[s];
    if (slots[s].key == ~0ull) return nullptr;
  }
}

BpeModel::BpeModel(std::vector<std::string> tokens, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : tokens_(std::move(tokens)), options_(options) {
  vocab_.reserve(tokens_.size());
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (!tokens_[id].empty()) vocab_.emplace(tokens_[id], static_cast<int32_t>(id));
  }
  for (int b = 0; b < 256; ++b) {
    std::string level;
    utf8::append(level, byte_level::byte_to_codepoint()[static_cast<size_t>(b)]);
    byte_level_ids_[b] = token_to_id(level).value_or(-1);
    fallback_ids_[b] = token_to_id(fmt::format("<0x{:02X}>", b)).value_or(-1);
  }
  for (size_t id = 0; id < tokens_.size(); ++id) {
    uint32_t cp;
    const std::string& t = tokens_[id];
    if (!t.empty() && !utf8::find_invalid(t) && utf8::decode(t, 0, cp) == t.size()) {
      char_ids_.emplace(cp, static_cast<int32_t>(id));
    }
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto left = token_to_id(a), right = token_to_id(b), merged = token_to_id(a + b);
    BALCAP_CHECK(left && right && merged,
                 "BPE merge #{} '{} {}' uses a token missing from the vocabulary\n"
                 "HINT: the tokenizer.json is inconsistent; re-export it with HF tokenizers",
                 rank, a, b);
    merges_.insert(*left, *right, static_cast<uint32_t>(rank), *merged);
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::push_unknown(std::vector<int32_t>& symbols, bool& last_was_unk) const {
  if (!options_.unk_id) return;  // HF drops characters it cannot represent at all
  if (!(options_.fuse_unk && last_was_unk)) symbols.push_back(*options_.unk_id);
  last_was_unk = true;
}

bool BpeModel::cached(std::string_view word, std::vector<int32_t>& out) const {
  std::shared_lock lock(cache_mutex_);
  auto it = cache_.find(word);
  if (it == cache_.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void BpeModel::remember(std::string_view word, const std::vector<int32_t>& ids) const {
  constexpr size_t kMaxWordBytes = 256, kMaxWords = 10000;
  if (word.size() >= kMaxWordBytes) return;
  std::unique_lock lock(cache_mutex_);
  if (cache_.size() < kMaxWords) cache_.emplace(std::string(word), ids);
}

void BpeModel::encode_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
  if (cached(bytes, out)) return;
  thread_local std::vector<int32_t> symbols;
  encode_bytes_uncached(bytes, symbols);
  remember(bytes, symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::encode_chars(std::string_view word, std::vector<int32_t>& out) const {
  if (cached(word, out)) return;
  thread_local std::vector<int32_t> symbols;
  encode_chars_uncached(word, symbols);
  remember(word, symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::encode_bytes_uncached(std::string_view bytes, std::vector<int32_t>& symbols) const {
  symbols.clear();
  if (options_.ignore_merges) {
    if (auto whole = token_to_id(byte_level::encode(bytes))) return symbols.push_back(*whole);
  }
  bool last_was_unk = false;
  for (char c : bytes) {
    int32_t id = byte_level_ids_[static_cast<unsigned char>(c)];
    if (id >= 0) {
      symbols.push_back(id), last_was_unk = false;
    } else {
      push_unknown(symbols, last_was_unk);
    }
  }
  merge(symbols);
}

void BpeModel::encode_chars_uncached(std::string_view word, std::vector<int32_t>& symbols) const {
  symbols.clear();
  if (options_.ignore_merges) {
    if (auto whole = token_to_id(word)) return symbols.push_back(*whole);
  }
  bool last_was_unk = false;
  for (size_t i = 0; i < word.size();) {
    uint32_t cp;
    size_t len = utf8::decode(word, i, cp);
    std::string_view ch = word.substr(i, len);
    i += len;
    if (auto it = char_ids_.find(cp); it != char_ids_.end()) {
      symbols.push_back(it->second), last_was_unk = false;
      continue;
    }
    bool bytes_known = options_.byte_fallback &&
                       std::all_of(ch.begin(), ch.end(), [&](char b) { return fallback_ids_[static_cast<unsigned char>(b)] >= 0; });
    if (!bytes_known) {
      push_unknown(symbols, last_was_unk);
      continue;
    }
    for (char b : ch) symbols.push_back(fallback_ids_[static_cast<unsigned char>(b)]);
    last_was_unk = false;
  }
  merge(symbols);
}

// symbols: ids of one word, merged in place.
void BpeModel::merge(std::vector<int32_t>& ids) const {
  if (ids.size() < 2) return;
  thread_local std::vector<Symbol> sym;
  thread_local std::vector<Candidate> heap;
  sym.clear(), heap.clear();
  const int32_t n = static_cast<int32_t>(ids.size());
  for (int32_t i = 0; i < n; ++i) sym.push_back(Symbol{ids[i], i - 1, i + 1 < n ? i + 1 : -1, true});
  auto push_pair = [&](int32_t pos) {
    if (pos < 0 || sym[pos].next < 0) return;
    if (const auto* m = merges_.find(sym[pos].id, sym[sym[pos].next].id)) {
      heap.push_back(Candidate{m->rank, pos, m->merged});
      std::push_heap(heap.begin(), heap.end());
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[left.next];
    // Stale entry: the pair changed since it was pushed (HF checks the merged id only).
    const auto* now = merges_.find(left.id, right.id);
    if (now == nullptr || now->merged != top.merged) continue;
    left.id = top.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    push_pair(left.prev);
    push_pair(top.pos);
  }
  ids.clear();
  for (int32_t i = 0; i >= 0; i = sym[i].next) ids.push_back(sym[i].id);
}

}  // namespace balcap::text
