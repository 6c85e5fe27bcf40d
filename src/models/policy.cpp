// Policy helpers shared by the families: the right-padded full-forward batch and one decode step
// of the shared text decoder.
#include "models/policy.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "models/text_decoder.h"

namespace balcap::models {

PolicyBatch make_policy_batch(const std::vector<std::vector<int64_t>>& ids,
                              const std::vector<const PolicyPrompt*>& images, at::Device device,
                              bool share_images) {
  BALCAP_CHECK(!ids.empty() && images.size() == ids.size(),
               "policy batch: {} sequences and {} image entries. HINT: pass one image entry (or nullptr) per row.",
               ids.size(), images.size());
  size_t longest = 0;
  for (size_t b = 0; b < ids.size(); ++b) {
    BALCAP_CHECK(!ids[b].empty(), "policy batch: row {} has no tokens. HINT: every row needs its prompt.", b);
    longest = std::max(longest, ids[b].size());
  }
  const auto B = static_cast<int64_t>(ids.size()), S = static_cast<int64_t>(longest);
  at::Tensor input_ids = at::zeros({B, S}, at::kLong), mask = at::zeros({B, S}, at::kLong);
  std::vector<at::Tensor> pixels, grids, vision_grids;
  std::vector<int64_t> index;
  std::map<const PolicyPrompt*, int64_t> distinct;  // prompt -> its first distinct image
  int64_t distinct_images = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto& row = ids[b];
    const auto n = static_cast<int64_t>(row.size());
    input_ids[b].narrow(0, 0, n).copy_(at::tensor(row, at::kLong));
    mask[b].narrow(0, 0, n).fill_(1);
    const PolicyPrompt* image = images[b];
    if (image == nullptr || !image->pixel_values.defined()) continue;
    const at::Tensor grid = image->image_grid_thw.defined() ? image->image_grid_thw.to(at::kCPU, at::kLong) : at::Tensor();
    if (grid.defined()) grids.push_back(grid);
    // A prompt holds n images (grid rows; CLIP: pixel rows); they are distinct images d .. d + n - 1.
    const int64_t count = grid.defined() ? grid.size(0) : image->pixel_values.size(0);
    auto [it, first_use] = distinct.try_emplace(image, distinct_images);
    if (first_use || !share_images) {
      it->second = distinct_images;
      distinct_images += count;
      pixels.push_back(image->pixel_values);
      if (grid.defined()) vision_grids.push_back(grid);
    }
    for (int64_t i = 0; i < count; ++i) index.push_back(it->second + i);
  }
  PolicyBatch batch{input_ids.to(device), mask.to(device), {}, {}, {}, std::move(index)};
  if (!pixels.empty()) batch.pixel_values = at::cat(pixels).to(device);
  if (!grids.empty()) batch.image_grid_thw = at::cat(grids);
  if (!vision_grids.empty()) batch.vision_grid_thw = at::cat(vision_grids);
  return batch;
}

at::Tensor features_in_row_order(const at::Tensor& features, const std::vector<int64_t>& tokens,
                                 const std::vector<int64_t>& index) {
  bool identity = index.size() == tokens.size();
  for (size_t k = 0; identity && k < index.size(); ++k) identity = index[k] == static_cast<int64_t>(k);
  if (index.empty() || identity) return features;
  const std::vector<at::Tensor> parts = features.split_with_sizes(tokens);  // one per distinct image
  std::vector<at::Tensor> rows;
  for (int64_t d : index) rows.push_back(parts.at(static_cast<size_t>(d)));
  return at::cat(rows);
}

void check_equal_lengths(const std::vector<const PolicyPrompt*>& prompts) {
  BALCAP_CHECK(!prompts.empty(), "prefill_batch: no prompts. HINT: pass at least one.");
  for (size_t b = 0; b < prompts.size(); ++b) {
    BALCAP_CHECK(prompts[b]->ids.size() == prompts.front()->ids.size(),
                 "prefill_batch: prompt {} has {} tokens, prompt 0 has {}. HINT: batch prompts of one length "
                 "(the sampler groups them by length).",
                 b, prompts[b]->ids.size(), prompts.front()->ids.size());
  }
}

PolicyPrefillBatch Policy::prefill_batch(const std::vector<const PolicyPrompt*>& prompts) {
  check_equal_lengths(prompts);
  std::vector<PolicyPrefill> each;
  for (const PolicyPrompt* prompt : prompts) each.push_back(prefill(*prompt));
  const KvCache& first = each.front().cache;
  const auto B = static_cast<int64_t>(each.size());
  KvCache cache(decoder_config(), B, first.max_seq_len(), dtype(), device());
  std::vector<at::Tensor> logits;
  std::vector<int64_t> positions;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t l = 0; l < cache.num_layers(); ++l) {
      cache.keys(l)[b].copy_(each[b].cache.keys(l)[0]);
      cache.values(l)[b].copy_(each[b].cache.values(l)[0]);
    }
    logits.push_back(each[b].logits);
    positions.push_back(each[b].next_position);
  }
  return {std::move(cache), at::cat(logits), positions};
}

at::Tensor text_decoder_step(TextDecoderImpl& decoder, const at::Tensor& embeds, const at::Tensor& positions,
                             KvCache& cache, int64_t cache_index, const at::Tensor& key_mask) {
  const int64_t N = embeds.size(0);
  // [N, 1] positions: the decoder's M-RoPE reads 2-D positions as equal on every axis.
  const auto [cos, sin] = decoder.rotary(positions.view({N, 1}), embeds.scalar_type());  // [N, 1, D]
  at::Tensor mask;
  if (key_mask.defined()) mask = key_mask.view({N, 1, 1, cache_index + 1});  // [N, 1, S=1, T]
  return decoder.forward(embeds, cos, sin, mask, &cache, cache_index).squeeze(1);  // [N, E]
}

at::Tensor text_decoder_step_static(TextDecoderImpl& decoder, const at::Tensor& embeds, const at::Tensor& positions,
                                    KvCache& cache, const at::Tensor& index, const at::Tensor& key_mask) {
  const int64_t N = embeds.size(0);
  BALCAP_CHECK(key_mask.dim() == 2 && key_mask.size(0) == N && key_mask.scalar_type() == at::kBool &&
                   key_mask.size(1) <= cache.max_seq_len(),
               "decode_static: key_mask must be bool [{}, K <= {}], got {} {}. HINT: pass the sampler's slot mask.",
               N, cache.max_seq_len(), c10::toString(key_mask.scalar_type()), c10::str(key_mask.sizes()));
  const auto [cos, sin] = decoder.rotary(positions.view({N, 1}), embeds.scalar_type());  // [N, 1, D]
  const at::Tensor mask = key_mask.view({N, 1, 1, key_mask.size(1)});                    // [N, 1, S=1, K]
  return decoder.forward(embeds, cos, sin, mask, &cache, 0, index).squeeze(1);           // [N, E]
}

}  // namespace balcap::models
