#pragma once
// Private to src/models: Decode-step attention over a shared prompt prefix plus each row's own keys (the sampler's
// layout, SharedPrefix in kv_cache.h): the G rows of a group read their prompt's keys/values once,
// together, as one [G * g, D] x [D, P] product per kv head, instead of G copies of the prompt.
// One softmax over both parts (scores concatenated, float32), so the result equals attention over
// the prompt followed by the row's keys in one cache.
#include <ATen/ATen.h>

#include <cstdint>

namespace balcap::models {

struct SharedPrefix;

// q: [N, H, 1, D], one query per row (H = H_kv * g; head h = j * g + i reads kv head j, as HF's
// repeat_kv). keys/values: [N, H_kv, T, D] the rows' own (generated) keys; row_mask: bool [N, T]
// (true = attend) or undefined = all T. prefix: the shared prompt of `layer`. scale: D^-0.5.
// -> [N, 1, H * D] in q's dtype.
at::Tensor prefix_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                            const at::Tensor& row_mask, const SharedPrefix& prefix, int64_t layer, double scale);

}  // namespace balcap::models
