// Two-part decode attention: shared prompt prefix + the rows' own keys (see prefix_attention.h).
#include "models/prefix_attention.h"

#include <limits>

#include "core/error.h"
#include "models/kv_cache.h"

namespace balcap::models {
namespace {

// Rows [N, ...] -> the prefix's query slots [Bp * G, ...] (zeros where no row sits: slots of
// finished rows still ride along in the prompt's product, which costs no extra key reads).
at::Tensor rows_to_slots(const at::Tensor& rows, const SharedPrefix& prefix) {
  if (!prefix.slot.defined()) return rows;
  std::vector<int64_t> shape = rows.sizes().vec();
  shape[0] = prefix.prompts() * prefix.group;
  return at::zeros(shape, rows.options()).index_copy_(0, prefix.slot, rows);
}

at::Tensor slots_to_rows(const at::Tensor& slots, const SharedPrefix& prefix) {
  return prefix.slot.defined() ? slots.index_select(0, prefix.slot) : slots;
}

// Per-slot tensors [Bp * G, H_kv, g, X] <-> per-prompt [Bp, H_kv, G * g, X] (the G members' queries
// of one kv head side by side, so the prompt's keys are read once for all of them).
at::Tensor slots_to_prompts(const at::Tensor& t, int64_t G) {
  const int64_t H_kv = t.size(1), g = t.size(2), X = t.size(3);
  return t.view({-1, G, H_kv, g, X}).transpose(1, 2).reshape({-1, H_kv, G * g, X});
}

at::Tensor prompts_to_slots(const at::Tensor& t, int64_t G) {
  const int64_t H_kv = t.size(1), g = t.size(2) / G, X = t.size(3);
  return t.view({-1, H_kv, G, g, X}).transpose(1, 2).reshape({-1, H_kv, g, X});
}

}  // namespace

at::Tensor prefix_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                            const at::Tensor& row_mask, const SharedPrefix& prefix, int64_t layer, double scale) {
  const int64_t N = q.size(0), H = q.size(1), D = q.size(3), H_kv = keys.size(1), T = keys.size(2);
  const int64_t G = prefix.group, P = prefix.key_mask.size(1);
  const at::Tensor& prompt_keys = prefix.keys.at(layer);      // [Bp, H_kv, P, D]
  const at::Tensor& prompt_values = prefix.values.at(layer);  // [Bp, H_kv, P, D]
  BALCAP_CHECK(q.dim() == 4 && q.size(2) == 1 && H % H_kv == 0 && keys.size(0) == N && prompt_keys.size(3) == D,
               "prefix attention: q {} (one query per row) does not fit the row keys {} and prompt keys {}.",
               c10::str(q.sizes()), c10::str(keys.sizes()), c10::str(prompt_keys.sizes()));
  const auto q_rows = q.reshape({N, H_kv, H / H_kv, D});  // [N, H_kv, g, D]
  const auto acc = at::promote_types(q.scalar_type(), at::kFloat);  // softmax dtype: float32 at least

  // Scores against the prompt, per prompt: [Bp, H_kv, G * g, P] -> per row [N, H_kv, g, P].
  const auto q_prompts = slots_to_prompts(rows_to_slots(q_rows, prefix), G);
  const auto lowest = -std::numeric_limits<float>::infinity();
  const auto prompt_scores = at::matmul(q_prompts, prompt_keys.transpose(2, 3))
                                 .to(acc)
                                 .mul_(scale)
                                 .masked_fill_(prefix.key_mask.logical_not().view({-1, 1, 1, P}), lowest);
  // Scores against the rows' own keys: [N, H_kv, g, T].
  auto row_scores = at::matmul(q_rows, keys.transpose(2, 3)).to(acc).mul_(scale);
  if (row_mask.defined()) row_scores.masked_fill_(row_mask.logical_not().view({N, 1, 1, T}), lowest);

  // One softmax over [prompt | row] keys, in float32 (as HF's eager attention), then q's dtype.
  const auto probs = at::cat({slots_to_rows(prompts_to_slots(prompt_scores, G), prefix), row_scores}, 3)
                         .softmax(3)
                         .to(q.scalar_type());  // [N, H_kv, g, P + T]
  const auto from_prompt = at::matmul(slots_to_prompts(rows_to_slots(probs.narrow(3, 0, P), prefix), G),
                                      prompt_values);  // [Bp, H_kv, G * g, D]
  const auto out = slots_to_rows(prompts_to_slots(from_prompt, G), prefix) +
                   at::matmul(probs.narrow(3, P, T), values);  // [N, H_kv, g, D]
  return out.reshape({N, 1, H * D});
}

}  // namespace balcap::models
