#include "models/kv_cache.h"

#include "core/error.h"
#include "io/hf_config.h"

namespace balcap::models {

KvCache::KvCache(int64_t num_layers, int64_t batch_size, int64_t num_kv_heads, int64_t max_seq_len, int64_t head_dim,
                 at::ScalarType dtype, at::Device device) {
  BALCAP_CHECK(num_layers > 0 && batch_size > 0 && num_kv_heads > 0 && max_seq_len > 0 && head_dim > 0,
               "KvCache: sizes must be positive (layers {}, batch {}, kv heads {}, max_seq_len {}, head_dim {}). "
               "HINT: check the model config and the requested sequence length.",
               num_layers, batch_size, num_kv_heads, max_seq_len, head_dim);
  const auto opts = at::TensorOptions().dtype(dtype).device(device);
  for (int64_t i = 0; i < num_layers; ++i) {
    keys_.push_back(at::zeros({batch_size, num_kv_heads, max_seq_len, head_dim}, opts));
    values_.push_back(at::zeros({batch_size, num_kv_heads, max_seq_len, head_dim}, opts));
  }
}

KvCache::KvCache(const io::TextDecoderConfig& config, int64_t batch_size, int64_t max_seq_len, at::ScalarType dtype,
                 at::Device device)
    : KvCache(config.num_hidden_layers, batch_size, config.num_key_value_heads, max_seq_len, config.head_dim, dtype,
              device) {}

std::pair<at::Tensor, at::Tensor> KvCache::update(int64_t layer, const at::Tensor& k, const at::Tensor& v,
                                                  int64_t start_pos) {
  BALCAP_CHECK(layer >= 0 && layer < num_layers(), "KvCache: layer {} out of range [0, {}).", layer, num_layers());
  const auto& kc = keys_[layer];
  BALCAP_CHECK(k.dim() == 4 && k.sizes() == v.sizes() && k.size(0) == kc.size(0) && k.size(1) == kc.size(1) &&
                   k.size(3) == kc.size(3),
               "KvCache: k {} / v {} do not fit the cache [B, H_kv, S_max, D] = {}.", c10::str(k.sizes()),
               c10::str(v.sizes()), c10::str(kc.sizes()));
  const int64_t end = start_pos + k.size(2);
  BALCAP_CHECK(start_pos >= 0 && end <= kc.size(2),
               "KvCache: positions [{}, {}) exceed the cache length {}. HINT: allocate the cache for the prompt "
               "plus the maximum number of new tokens.",
               start_pos, end, kc.size(2));
  keys_[layer].narrow(2, start_pos, k.size(2)).copy_(k);
  values_[layer].narrow(2, start_pos, v.size(2)).copy_(v);
  return {keys_[layer].narrow(2, 0, end), values_[layer].narrow(2, 0, end)};
}

std::pair<at::Tensor, at::Tensor> KvCache::update_at(int64_t layer, const at::Tensor& k, const at::Tensor& v,
                                                     const at::Tensor& index) {
  BALCAP_CHECK(layer >= 0 && layer < num_layers(), "KvCache: layer {} out of range [0, {}).", layer, num_layers());
  const auto& kc = keys_[layer];
  BALCAP_CHECK(k.dim() == 4 && k.sizes() == v.sizes() && k.size(0) == kc.size(0) && k.size(1) == kc.size(1) &&
                   k.size(2) == 1 && k.size(3) == kc.size(3) && index.numel() == 1,
               "KvCache: update_at writes one token per row: k {} / v {} / index {} do not fit the cache "
               "[B, H_kv, S_max, D] = {}.",
               c10::str(k.sizes()), c10::str(v.sizes()), c10::str(index.sizes()), c10::str(kc.sizes()));
  keys_[layer].index_copy_(2, index, k);
  values_[layer].index_copy_(2, index, v);
  return {keys_[layer], values_[layer]};
}

void KvCache::select_rows(const at::Tensor& index) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    keys_[i] = keys_[i].index_select(0, index);
    values_[i] = values_[i].index_select(0, index);
  }
  if (prefix() == nullptr) return;
  SharedPrefix& p = prefix_;
  at::Tensor slot = p.slot.defined() ? p.slot.index_select(0, index) : index.clone();
  // The prompts some kept row still reads, ascending; each kept row's prompt renumbered among them.
  const at::Tensor prompt = slot.div(p.group, "floor");
  const at::Tensor live = std::get<0>(at::_unique(prompt, /*sorted=*/true));
  if (live.size(0) < p.prompts()) {
    for (size_t i = 0; i < p.keys.size(); ++i) {
      p.keys[i] = p.keys[i].index_select(0, live);
      p.values[i] = p.values[i].index_select(0, live);
    }
    p.key_mask = p.key_mask.index_select(0, live);
    slot = at::searchsorted(live, prompt) * p.group + slot.remainder(p.group);
  }
  p.slot = slot;
}

void KvCache::set_prefix(SharedPrefix prefix) {
  const auto& kc = keys_.front();
  const bool layers_fit = static_cast<int64_t>(prefix.keys.size()) == num_layers() &&
                          prefix.values.size() == prefix.keys.size();
  BALCAP_CHECK(layers_fit && prefix.group > 0 && prefix.key_mask.dim() == 2 &&
                   prefix.key_mask.scalar_type() == at::kBool,
               "KvCache: a shared prefix needs {} layers of keys and values, a group size > 0 and a bool "
               "[prompts, P] key mask (got {} / {} layers, group {}, mask {}).",
               num_layers(), prefix.keys.size(), prefix.values.size(), prefix.group, c10::str(prefix.key_mask.sizes()));
  const int64_t Bp = prefix.key_mask.size(0), P = prefix.key_mask.size(1), N = kc.size(0);
  const std::vector<int64_t> want{Bp, kc.size(1), P, kc.size(3)};
  for (size_t i = 0; i < prefix.keys.size(); ++i) {
    BALCAP_CHECK(prefix.keys[i].sizes() == want && prefix.values[i].sizes() == want &&
                     prefix.keys[i].scalar_type() == kc.scalar_type(),
                 "KvCache: shared prefix layer {}: keys {} / values {}, expected {} in the cache's dtype.", i,
                 c10::str(prefix.keys[i].sizes()), c10::str(prefix.values[i].sizes()), c10::str(at::IntArrayRef(want)));
  }
  BALCAP_CHECK(prefix.slot.defined() ? prefix.slot.dim() == 1 && prefix.slot.size(0) == N : N == Bp * prefix.group,
               "KvCache: {} rows but the shared prefix has {} prompts x {} slots and slot {}. HINT: pass one slot "
               "per row, or none when row n is slot n.",
               N, Bp, prefix.group, prefix.slot.defined() ? c10::str(prefix.slot.sizes()) : std::string("undefined"));
  prefix_ = std::move(prefix);
}

}  // namespace balcap::models
