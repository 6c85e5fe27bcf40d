#pragma once
// The Policy seam (docs/architecture.md §12): one class per model family over the shared text decoder, used by
// the sampler (prefill + decode), the trainer (hidden_states + output_weight, with grad), judges and
// the server. Nothing outside models/ asks which family it holds.
//
// Decoding contract (what the sampler relies on, and what LLaVA / text-only LMs implement):
//   1. prefill(prompt): the prompt alone (batch 1, no padding; the vision tower runs here) ->
//      its keys/values in a batch-1 KvCache of exactly the prompt length L, the next-token logits of
//      the last prompt position, and the rotary position the first generated token takes.
//   2. The caller lays those caches out for N rows and calls decode() once per new token for all N
//      rows, every row writing at the same cache index: either one KvCache holding whole sequences
//      (prompts left-padded to a common length, key_mask hiding the padding), or, as the sampler
//      does, the prompts once as the cache's SharedPrefix (G rows per prompt) and the rows' own
//      storage holding the generated tokens only (kv_cache.h, prefix_attention.h).
//   Positions after the prompt advance by one per token on every rotary axis (M-RoPE included).
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "io/generation_config.h"
#include "io/hf_config.h"
#include "models/kv_cache.h"

namespace balcap::models {

// One prompt: token ids with image placeholders already expanded, plus its processed image.
struct PolicyPrompt {
  std::vector<int64_t> ids;
  at::Tensor pixel_values;    // [N, P] float32, undefined for text-only (Qwen2.5-VL: [N, 1176])
  at::Tensor image_grid_thw;  // [1, 3] int64 (Qwen family), undefined for text-only / families without it
};

// A right-padded batch for full forwards (loss recomputation, judge scoring, prompt logprobs).
// Vision once per image: rows that share a prompt (the G captions of one image in the loss) share
// one entry of pixel_values, so the vision tower runs once per distinct image; image_index says
// which distinct image each image-bearing row uses. The gradients are those of one tower run per row
// (autograd sums the rows' uses of the shared features).
struct PolicyBatch {
  at::Tensor input_ids;       // [B, S] int64
  at::Tensor attention_mask;  // [B, S] int64, 1 = token, 0 = right padding
  at::Tensor pixel_values;    // the distinct images' pixels, concatenated in first-use order, or undefined
  at::Tensor image_grid_thw;  // [n_row_images, 3] int64 (CPU), one per image-bearing row in row order, or undefined
  at::Tensor vision_grid_thw;  // [n_distinct, 3] int64 (CPU): the grids of pixel_values' images, or undefined
  std::vector<int64_t> image_index;  // [n_row_images]: row-order image k is distinct image image_index[k]
};

// ids[b]: the full sequence of row b (prompt + generated); images[b]: the prompt whose image row b
// holds (nullptr or a text-only prompt = none). input_ids/attention_mask go to `device`,
// pixel_values too; the grids stay on the CPU (read element-wise by the position code). Rows with the
// same PolicyPrompt share one image unless `share_images` is false (one tower run per row: the
// reference the tests compare with). Empty rows or images.size() != ids.size() -> balcap::Error.
PolicyBatch make_policy_batch(const std::vector<std::vector<int64_t>>& ids,
                              const std::vector<const PolicyPrompt*>& images, at::Device device,
                              bool share_images = true);

// Vision features of the distinct images [sum_d tokens_d, E] -> in row order [sum_k tokens_{index[k]}, E]:
// the features of image index[k] for each row-order image k. `tokens`: per distinct image. An empty
// index, or one that is the identity, returns `features` itself.
at::Tensor features_in_row_order(const at::Tensor& features, const std::vector<int64_t>& tokens,
                                 const std::vector<int64_t>& index);

// What prefill() leaves for decoding one prompt.
struct PolicyPrefill {
  KvCache cache;              // batch 1, max_seq_len == prompt length L: every prompt token's keys/values
  at::Tensor logits;          // [1, V] next-token logits after the last prompt token (weights' dtype)
  int64_t next_position = 0;  // rotary position of the first generated token (text: L; Qwen2.5-VL:
                              // max M-RoPE position of the prompt + 1, i.e. L + rope_delta)
};

// What prefill_batch() leaves: B prompts of one length L side by side.
struct PolicyPrefillBatch {
  KvCache cache;                        // [B, H_kv, L, D] per layer
  at::Tensor logits;                    // [B, V] next-token logits after each prompt (weights' dtype)
  std::vector<int64_t> next_positions;  // [B] rotary position of each row's first generated token
};

class Policy {
 public:
  virtual ~Policy() = default;

  virtual torch::nn::Module& module() = 0;  // parameters, train()/eval(), to()
  virtual const io::TextDecoderConfig& decoder_config() const = 0;
  virtual at::Device device() const = 0;
  virtual at::ScalarType dtype() const = 0;  // the weights' dtype (activations use it too)
  virtual const io::GenerationConfig& generation_config() const = 0;

  // Full forward: hidden states after the final norm [B, S, E] (with grad when grad mode is on).
  // Rows are right-padded; padding positions hold finite values that callers ignore.
  virtual at::Tensor hidden_states(const PolicyBatch& batch) = 0;
  // The output projection weight [V, E] (lm_head, or the tied embedding): logits = hidden @ W^T.
  virtual at::Tensor output_weight() = 0;

  // Prompt prefill (batch 1, no padding), see the contract above. Empty ids, ids outside the
  // vocabulary, image tokens without pixels (or the reverse) -> balcap::Error.
  virtual PolicyPrefill prefill(const PolicyPrompt& prompt) = 0;
  // Several prompts of one length at once (one batch through the vision tower and the decoder; no
  // padding needed): row b equals prefill(*prompts[b]) up to float rounding. Prompts of different
  // lengths -> balcap::Error. The default runs prefill() per prompt and stacks the results.
  virtual PolicyPrefillBatch prefill_batch(const std::vector<const PolicyPrompt*>& prompts);

  // One decode step for the N rows of `cache` ([N, H_kv, S_max, D] per layer):
  //   tokens [N] int64: the newest token of each row, written at cache index `cache_index` (all rows);
  //   positions [N] int64: its rotary position (all M-RoPE axes equal);
  //   key_mask [N, cache_index + 1] bool, true = attend (false: left padding), or undefined = all keys.
  // -> logits [N, V] in the weights' dtype. No host sync (ids are trusted: the model produced them).
  virtual at::Tensor decode(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                            int64_t cache_index, const at::Tensor& key_mask) = 0;

  // The same step with fixed shapes and no host-side index, so that it can be captured in a CUDA
  // graph and replayed (sampling.cuda_graphs):
  //   index [1] int64 on the device: the cache index every row writes its token at;
  //   key_mask [N, K] bool, true = attend, K <= S_max: attention runs over the first K cache slots
  //   (K fixed per graph), so the mask must also hide the slots not written yet (and index < K).
  // -> logits [N, V], equal to decode() up to float rounding. No host sync, no host-to-device copy.
  virtual at::Tensor decode_static(const at::Tensor& tokens, const at::Tensor& positions, KvCache& cache,
                                   const at::Tensor& index, const at::Tensor& key_mask) = 0;

  // Writes the weights as a transformers model directory (same tensor spelling as loaded; config,
  // generation config and tokenizer/processor files copied from source_dir()).
  virtual void save_pretrained(const std::filesystem::path& dir) = 0;
  // The directory the policy was loaded from.
  virtual std::filesystem::path source_dir() const = 0;
};

// Shared by the families' decode(): one step of `decoder` for `embeds` [N, 1, E] at rotary
// `positions` [N] (expanded to every M-RoPE axis when the config has mrope_section) and cache index
// `cache_index`, key_mask as in Policy::decode -> hidden after the final norm [N, E].
class TextDecoderImpl;
// prefill_batch's precondition: at least one prompt, all of one length (else balcap::Error).
void check_equal_lengths(const std::vector<const PolicyPrompt*>& prompts);
at::Tensor text_decoder_step(TextDecoderImpl& decoder, const at::Tensor& embeds, const at::Tensor& positions,
                             KvCache& cache, int64_t cache_index, const at::Tensor& key_mask);
// Its static-shape twin for decode_static(): index and key_mask [N, K] as in Policy::decode_static.
at::Tensor text_decoder_step_static(TextDecoderImpl& decoder, const at::Tensor& embeds, const at::Tensor& positions,
                                    KvCache& cache, const at::Tensor& index, const at::Tensor& key_mask);

}  // namespace balcap::models
