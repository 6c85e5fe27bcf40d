#pragma once
// Private to src/models: The index bookkeeping of the Qwen2.5-VL vision tower, computed on the host from the image grids
// (transformers 5.x vision_utils.py: get_vision_position_ids, get_vision_cu_seqlens,
// get_vision_window_index). Torch-free: these are a few thousand integers per image, needed once
// per forward before any kernel runs.
//
// Vocabulary: a grid (t, h, w) counts patches of 14 px (t = frames / 2). The processor emits the
// patches of each image in "merge-block" order: 2x2 blocks of patches (a "unit", one LM token
// after the PatchMerger) row-major over the block grid, the 4 patches of a block row-major inside.
#include <cstdint>
#include <vector>

namespace balcap::models {

struct VisionGrid {
  int64_t t = 0;  // temporal patches (1 for an image)
  int64_t h = 0;  // patch rows
  int64_t w = 0;  // patch columns
};

// Checks every grid (positive, h and w multiples of spatial_merge_size) and returns them.
// Bad grids -> balcap::Error naming the image index and the values.
std::vector<VisionGrid> validated_vision_grids(const std::vector<int64_t>& grid_thw_rows /* n*3 */,
                                               int64_t spatial_merge_size);

// Total patches sum(t*h*w).
int64_t vision_patch_count(const std::vector<VisionGrid>& grids);

// (row, col) of every patch in processor order, flattened [N*2]: patch i has row = out[2i],
// col = out[2i+1]. Frames of a video repeat the rows and columns of the first.
std::vector<int64_t> qwen2_5_vl_vision_position_ids(const std::vector<VisionGrid>& grids, int64_t spatial_merge_size);

// Boundaries of full attention in patches: one segment per frame, [0, h*w, 2*h*w, ...] across all
// images (HF cu_seqlens).
std::vector<int64_t> qwen2_5_vl_vision_cu_seqlens(const std::vector<VisionGrid>& grids);

struct VisionWindowIndex {
  // [N / merge^2] units in window order: entry j is the processor-order unit placed at position j.
  std::vector<int64_t> window_index;
  // Window boundaries in patches of the window-ordered sequence, starting with 0; windows that
  // fall wholly in the padding (length 0) are dropped, as HF's unique_consecutive does.
  std::vector<int64_t> cu_window_seqlens;
};

// HF get_window_index: a window is m x m units with m = window_size / spatial_merge_size /
// patch_size (112 / 2 / 14 = 4). Each frame's unit grid is padded to a multiple of m by
// `m - size % m` (a whole empty row/column of windows when already a multiple), windows are
// taken row-major, units row-major inside a window, padding skipped.
VisionWindowIndex qwen2_5_vl_window_index(const std::vector<VisionGrid>& grids, int64_t spatial_merge_size,
                                          int64_t window_size, int64_t patch_size);

}  // namespace balcap::models
