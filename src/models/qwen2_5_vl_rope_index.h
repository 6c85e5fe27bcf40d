#pragma once
// Private to src/models: Qwen2.5-VL's 3-D position ids for the language model, as transformers' Qwen2_5_VLModel.get_rope_index
// (v5): text tokens (incl. <|vision_start|>/<|vision_end|>) get consecutive positions on all three
// axes; each run of <|image_pad|> tokens takes the next image_grid_thw row (t, h, w) and, starting at
// the current position s, gets T = s + t_idx, H = s + row, W = s + col over the merged grid
// (h / merge, w / merge) in row-major order; the next text position is s + max(h, w) / merge.
// Padding (attention_mask == 0) is skipped and gets position 0 on every axis.
// rope_deltas[b] = max position + 1 - (number of real tokens): decoding the token at cache index p
// uses position p + rope_deltas[b] on all axes.
#include <ATen/ATen.h>

#include <cstdint>

#include "io/hf_config.h"

namespace balcap::models {

struct RopeIndex {
  at::Tensor position_ids;  // [3, B, S] int64
  at::Tensor rope_deltas;   // [B, 1] int64
};

// input_ids: [B, S] int64; image_grid_thw: [n_images, 3] int64 (images in batch-then-sequence order)
// or undefined for text only; attention_mask: [B, S] (1 = token, 0 = padding) or undefined.
// Video tokens, a run of image pads that does not match its grid, too few/many grid rows -> balcap::Error.
RopeIndex qwen2_5_vl_rope_index(const at::Tensor& input_ids, const at::Tensor& image_grid_thw,
                                const at::Tensor& attention_mask, const io::Qwen2_5_VLConfig& config);

// Decoding positions [3, B, S] for S new tokens written at cache indices [start_pos, start_pos + S):
// start_pos + i + rope_deltas[b] on every axis (HF's compute_3d_position_ids with a cache).
at::Tensor qwen2_5_vl_decode_position_ids(const at::Tensor& rope_deltas, int64_t start_pos, int64_t seq_len);

}  // namespace balcap::models
