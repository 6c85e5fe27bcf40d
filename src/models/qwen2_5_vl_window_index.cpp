#include "models/qwen2_5_vl_window_index.h"

#include <algorithm>

#include "core/error.h"

namespace balcap::models {

std::vector<VisionGrid> validated_vision_grids(const std::vector<int64_t>& grid_thw_rows, int64_t spatial_merge_size) {
  BALCAP_CHECK(spatial_merge_size > 0, "vision_config.spatial_merge_size {} is not positive. HINT: check config.json",
               spatial_merge_size);
  BALCAP_CHECK(!grid_thw_rows.empty() && grid_thw_rows.size() % 3 == 0,
               "image_grid_thw has {} values, expected [n_images, 3] with n_images >= 1. HINT: pass the grid the "
               "image processor returned with pixel_values",
               grid_thw_rows.size());
  std::vector<VisionGrid> grids;
  for (size_t i = 0; i < grid_thw_rows.size(); i += 3) {
    const VisionGrid g{grid_thw_rows[i], grid_thw_rows[i + 1], grid_thw_rows[i + 2]};
    BALCAP_CHECK(g.t > 0 && g.h > 0 && g.w > 0 && g.h % spatial_merge_size == 0 && g.w % spatial_merge_size == 0,
                 "image_grid_thw row {} is [{}, {}, {}]: t, h, w must be positive and h, w multiples of "
                 "spatial_merge_size {}. HINT: pass the grid the image processor returned with pixel_values",
                 i / 3, g.t, g.h, g.w, spatial_merge_size);
    grids.push_back(g);
  }
  return grids;
}

int64_t vision_patch_count(const std::vector<VisionGrid>& grids) {
  int64_t n = 0;
  for (const auto& g : grids) n += g.t * g.h * g.w;
  return n;
}

std::vector<int64_t> qwen2_5_vl_vision_position_ids(const std::vector<VisionGrid>& grids, int64_t spatial_merge_size) {
  const int64_t m = spatial_merge_size;
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(2 * vision_patch_count(grids)));
  for (const auto& g : grids) {
    for (int64_t t = 0; t < g.t; ++t) {
      // Merge blocks row-major, then the m x m patches of a block row-major.
      for (int64_t bh = 0; bh < g.h / m; ++bh) {
        for (int64_t bw = 0; bw < g.w / m; ++bw) {
          for (int64_t mh = 0; mh < m; ++mh) {
            for (int64_t mw = 0; mw < m; ++mw) {
              out.push_back(bh * m + mh);
              out.push_back(bw * m + mw);
            }
          }
        }
      }
    }
  }
  return out;
}

std::vector<int64_t> qwen2_5_vl_vision_cu_seqlens(const std::vector<VisionGrid>& grids) {
  std::vector<int64_t> cu{0};
  for (const auto& g : grids) {
    for (int64_t t = 0; t < g.t; ++t) cu.push_back(cu.back() + g.h * g.w);
  }
  return cu;
}

namespace {

// Appends the windows of one frame of `units_h` x `units_w` units whose first unit is `first`.
// Each window's length in patches goes to `lengths` (0 for a window wholly in the padding).
void append_frame_windows(int64_t units_h, int64_t units_w, int64_t m, int64_t first, std::vector<int64_t>& index,
                          std::vector<int64_t>& lengths) {
  // HF pads by m - size % m, so an exact multiple still gets one more (empty) row/column of windows.
  const int64_t windows_h = (units_h + m - units_h % m) / m;
  const int64_t windows_w = (units_w + m - units_w % m) / m;
  for (int64_t wh = 0; wh < windows_h; ++wh) {
    for (int64_t ww = 0; ww < windows_w; ++ww) {
      int64_t count = 0;
      for (int64_t r = wh * m; r < std::min((wh + 1) * m, units_h); ++r) {
        for (int64_t c = ww * m; c < std::min((ww + 1) * m, units_w); ++c) {
          index.push_back(first + r * units_w + c);
          ++count;
        }
      }
      lengths.push_back(count);
    }
  }
}

}  // namespace

VisionWindowIndex qwen2_5_vl_window_index(const std::vector<VisionGrid>& grids, int64_t spatial_merge_size,
                                          int64_t window_size, int64_t patch_size) {
  const int64_t m = patch_size > 0 && spatial_merge_size > 0 ? window_size / spatial_merge_size / patch_size : 0;
  BALCAP_CHECK(m > 0,
               "vision_config.window_size {} is smaller than spatial_merge_size {} x patch_size {}: a window would "
               "hold no merged token. HINT: check config.json (Qwen2.5-VL uses 112, 2, 14)",
               window_size, spatial_merge_size, patch_size);
  const int64_t unit = spatial_merge_size * spatial_merge_size;
  VisionWindowIndex out;
  out.cu_window_seqlens.push_back(0);
  std::vector<int64_t> lengths;
  int64_t first = 0;
  for (const auto& g : grids) {
    const int64_t units_h = g.h / spatial_merge_size;
    const int64_t units_w = g.w / spatial_merge_size;
    for (int64_t t = 0; t < g.t; ++t) {
      lengths.clear();
      append_frame_windows(units_h, units_w, m, first, out.window_index, lengths);
      first += units_h * units_w;
      // Empty windows repeat the previous boundary: dropped here as unique_consecutive does.
      for (const int64_t len : lengths) {
        if (len > 0) out.cu_window_seqlens.push_back(out.cu_window_seqlens.back() + len * unit);
      }
    }
  }
  return out;
}

}  // namespace balcap::models
