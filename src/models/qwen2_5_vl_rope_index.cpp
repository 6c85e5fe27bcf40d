#include "models/qwen2_5_vl_rope_index.h"

#include <algorithm>
#include <array>
#include <vector>

#include "core/error.h"

namespace balcap::models {
namespace {

// Positions of one sequence's real tokens, one vector per axis (T, H, W).
using AxisPositions = std::array<std::vector<int64_t>, 3>;

struct GridCursor {
  const int64_t* grids = nullptr;  // [n, 3] row-major (t, h, w)
  int64_t count = 0;
  int64_t next = 0;
};

// Appends n text positions start.. on every axis; returns the next position.
int64_t add_text(AxisPositions& pos, int64_t n, int64_t start) {
  for (int64_t i = 0; i < n; ++i)
    for (auto& axis : pos) axis.push_back(start + i);
  return start + n;
}

// Appends a run of `run_len` image pads laid out on the next grid; returns the next text position.
int64_t add_image(AxisPositions& pos, int64_t run_len, int64_t start, GridCursor& grids, int64_t merge) {
  BALCAP_CHECK(grids.next < grids.count,
               "rope index: image pad run #{} has no image_grid_thw row (only {} images given). HINT: pass one "
               "grid row per image, in prompt order.",
               grids.next + 1, grids.count);
  const int64_t* g = grids.grids + 3 * grids.next++;
  BALCAP_CHECK(g[0] > 0 && g[1] > 0 && g[2] > 0 && g[1] % merge == 0 && g[2] % merge == 0,
               "rope index: image_grid_thw row {} = [{}, {}, {}] is not a positive grid divisible by the spatial "
               "merge size {}. HINT: take the grid from the image processor.",
               grids.next - 1, g[0], g[1], g[2], merge);
  const int64_t t = g[0], h = g[1] / merge, w = g[2] / merge;
  BALCAP_CHECK(run_len == t * h * w,
               "rope index: image {} has {} <|image_pad|> tokens but its grid [{}, {}, {}] needs {} (t*h*w / {}). "
               "HINT: expand each image pad to the image's token count (the processor does this); adjacent "
               "images need text (e.g. <|vision_end|><|vision_start|>) between them.",
               grids.next - 1, run_len, g[0], g[1], g[2], t * h * w, merge * merge);
  for (int64_t ti = 0; ti < t; ++ti)
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        pos[0].push_back(start + ti);  // images: temporal interval 1 (v5, transformers #45325)
        pos[1].push_back(start + r);
        pos[2].push_back(start + c);
      }
  return start + std::max(h, w);
}

// Positions for the real tokens `ids` of one sequence (padding already removed).
AxisPositions sequence_positions(const std::vector<int64_t>& ids, GridCursor& grids, const io::Qwen2_5_VLConfig& config) {
  AxisPositions pos;
  int64_t next = 0;
  size_t i = 0;
  while (i < ids.size()) {
    const bool image = ids[i] == config.image_token_id;
    size_t j = i;
    while (j < ids.size() && (ids[j] == config.image_token_id) == image) ++j;
    const auto run = static_cast<int64_t>(j - i);
    next = image ? add_image(pos, run, next, grids, config.vision.spatial_merge_size) : add_text(pos, run, next);
    i = j;
  }
  return pos;
}

}  // namespace

RopeIndex qwen2_5_vl_rope_index(const at::Tensor& input_ids, const at::Tensor& image_grid_thw,
                                const at::Tensor& attention_mask, const io::Qwen2_5_VLConfig& config) {
  BALCAP_CHECK(input_ids.dim() == 2, "rope index: input_ids must be [batch, seq], got {}.",
               c10::str(input_ids.sizes()));
  const int64_t B = input_ids.size(0), S = input_ids.size(1);
  const auto ids = input_ids.to(at::kCPU, at::kLong).contiguous();
  BALCAP_CHECK(!(ids == config.video_token_id).any().item<bool>(),
               "rope index: the prompt holds <|video_pad|> tokens (id {}); videos are not supported. HINT: pass "
               "images only.",
               config.video_token_id);
  at::Tensor mask;
  if (attention_mask.defined()) {
    BALCAP_CHECK(attention_mask.sizes() == input_ids.sizes(), "rope index: attention_mask {} must match input_ids {}.",
                 c10::str(attention_mask.sizes()), c10::str(input_ids.sizes()));
    mask = attention_mask.to(at::kCPU).to(at::kBool).contiguous();
  }
  at::Tensor grids_cpu;
  GridCursor grids;
  if (image_grid_thw.defined() && image_grid_thw.numel() > 0) {
    BALCAP_CHECK(image_grid_thw.dim() == 2 && image_grid_thw.size(1) == 3,
                 "rope index: image_grid_thw must be [n_images, 3], got {}.", c10::str(image_grid_thw.sizes()));
    grids_cpu = image_grid_thw.to(at::kCPU, at::kLong).contiguous();
    grids = {grids_cpu.data_ptr<int64_t>(), grids_cpu.size(0), 0};
  }

  auto position_ids = at::zeros({3, B, S}, at::kLong);  // padding keeps 0, as HF
  auto deltas = at::zeros({B, 1}, at::kLong);
  auto pos_acc = position_ids.accessor<int64_t, 3>();
  const int64_t* id_data = ids.data_ptr<int64_t>();
  const bool* mask_data = mask.defined() ? mask.data_ptr<bool>() : nullptr;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> real;  // sequence indices of the real tokens
    std::vector<int64_t> row;
    for (int64_t s = 0; s < S; ++s) {
      if (mask_data != nullptr && !mask_data[b * S + s]) continue;
      real.push_back(s);
      row.push_back(id_data[b * S + s]);
    }
    BALCAP_CHECK(!real.empty(), "rope index: batch row {} has no tokens (attention_mask all 0).", b);
    const auto pos = sequence_positions(row, grids, config);
    int64_t max_pos = 0;
    for (int a = 0; a < 3; ++a)
      for (size_t k = 0; k < real.size(); ++k) {
        pos_acc[a][b][real[k]] = pos[a][k];
        max_pos = std::max(max_pos, pos[a][k]);
      }
    deltas[b][0] = max_pos + 1 - static_cast<int64_t>(real.size());
  }
  BALCAP_CHECK(grids.next == grids.count,
               "rope index: {} image_grid_thw rows but only {} runs of <|image_pad|> tokens (id {}) in the prompt. "
               "HINT: each image needs its pad tokens in input_ids.",
               grids.count, grids.next, config.image_token_id);
  return {position_ids.to(input_ids.device()), deltas.to(input_ids.device())};
}

at::Tensor qwen2_5_vl_decode_position_ids(const at::Tensor& rope_deltas, int64_t start_pos, int64_t seq_len) {
  BALCAP_CHECK(rope_deltas.dim() == 2 && rope_deltas.size(1) == 1,
               "rope index: rope_deltas must be [batch, 1], got {}.", c10::str(rope_deltas.sizes()));
  const auto steps = at::arange(start_pos, start_pos + seq_len, rope_deltas.options().dtype(at::kLong));
  const auto pos = steps.unsqueeze(0) + rope_deltas.to(at::kLong);  // [B, S]
  return pos.unsqueeze(0).expand({3, pos.size(0), seq_len}).contiguous();
}

}  // namespace balcap::models
