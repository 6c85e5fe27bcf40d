#pragma once
// A preallocated key/value cache for the text decoders: per layer k and v of [B, H_kv, S_max, D],
// written by position (no reallocation while decoding). `update` stores the new keys/values at
// [start_pos, start_pos + S) and returns views of everything written so far, [B, H_kv, start_pos + S, D].
// `update_at` is its static-shape twin for CUDA-graph decoding: the position is a device tensor and the
// whole storage comes back (the caller's key mask hides what is not written yet).
// Rotary is applied before caching (cached keys are already rotated), as in transformers.
#include <ATen/ATen.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "io/hf_config.h"

namespace balcap::models {

// The prompt keys/values the G rows of a group share (the sampler's layout, docs/architecture.md §5): stored once
// per prompt, never once per row. Per layer keys/values [Bp, H_kv, P, D], prompts right-padded to P
// and hidden by key_mask. Row n of the cache is query slot slot[n] of the [Bp * G] slots, slot =
// prompt * G + member; an undefined slot means the identity (N == Bp * G, row n = slot n).
// Attention over a cache with a prefix reads these keys first, then the rows' own (prefix_attention.h).
struct SharedPrefix {
  std::vector<at::Tensor> keys, values;  // per layer [Bp, H_kv, P, D]
  at::Tensor key_mask;                   // [Bp, P] bool, true = a prompt token
  at::Tensor slot;                       // [N] int64, or undefined = identity
  int64_t group = 1;                     // G: query slots per prompt

  int64_t prompts() const { return key_mask.size(0); }
};

class KvCache {
 public:
  KvCache(int64_t num_layers, int64_t batch_size, int64_t num_kv_heads, int64_t max_seq_len, int64_t head_dim,
          at::ScalarType dtype, at::Device device = at::kCPU);
  // Sized for a decoder built from `config`.
  KvCache(const io::TextDecoderConfig& config, int64_t batch_size, int64_t max_seq_len, at::ScalarType dtype,
          at::Device device = at::kCPU);

  // k, v: [B, H_kv, S, D] -> (keys, values) views [B, H_kv, start_pos + S, D].
  // Out-of-range layer, positions past max_seq_len, or shape mismatch -> balcap::Error.
  std::pair<at::Tensor, at::Tensor> update(int64_t layer, const at::Tensor& k, const at::Tensor& v, int64_t start_pos);

  // One token per row at the device-side cache index `index` ([1] int64 on the cache's device; never
  // read on the host, so no sync and capturable): k, v [B, H_kv, 1, D] -> the whole storage (keys,
  // values) [B, H_kv, S_max, D]. Shapes are checked; the index range is the caller's contract.
  std::pair<at::Tensor, at::Tensor> update_at(int64_t layer, const at::Tensor& k, const at::Tensor& v,
                                              const at::Tensor& index);

  int64_t num_layers() const { return static_cast<int64_t>(keys_.size()); }
  int64_t batch_size() const { return keys_.front().size(0); }
  int64_t max_seq_len() const { return keys_.front().size(2); }
  // The whole preallocated storage of one layer: [B, H_kv, S_max, D].
  const at::Tensor& keys(int64_t layer) const { return keys_.at(layer); }
  const at::Tensor& values(int64_t layer) const { return values_.at(layer); }

  // Keeps the batch rows `index` ([N'] int64 on the cache's device), in that order: every layer
  // becomes [N', H_kv, S_max, D] (new storage). The sampler drops finished sequences with it.
  // With a shared prefix, the rows keep their slots and prompts no row reads any more are dropped
  // (one host sync, as the caller's own choice of rows already needs).
  void select_rows(const at::Tensor& index);

  // Puts a shared prompt prefix in front of every row's keys (see SharedPrefix): the rows' own
  // storage then holds the generated tokens only (cache index 0 = the first generated token).
  // Shapes that do not fit the cache -> balcap::Error.
  void set_prefix(SharedPrefix prefix);
  // The shared prefix, or nullptr when the rows hold their whole sequences.
  const SharedPrefix* prefix() const { return prefix_.keys.empty() ? nullptr : &prefix_; }

 private:
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
  SharedPrefix prefix_;
};

}  // namespace balcap::models
