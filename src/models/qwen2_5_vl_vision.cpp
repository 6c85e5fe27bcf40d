#include "models/qwen2_5_vl_vision.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "models/qwen2_5_vl_window_index.h"

namespace balcap::models {

namespace {

// HF Qwen2_5_VLVisionRotaryEmbedding: rope_parameters default to axial with theta 10000 (the hub
// checkpoints do not set them).
constexpr double kVisionRopeTheta = 10000.0;
// Every vision RMSNorm in HF is built with eps=1e-6 (not configurable).
constexpr double kVisionNormEps = 1e-6;

void check_vision_config(const io::Qwen2_5_VLVisionConfig& c) {
  BALCAP_CHECK(c.depth > 0 && c.hidden_size > 0 && c.intermediate_size > 0 && c.out_hidden_size > 0 &&
                   c.in_channels > 0 && c.patch_size > 0 && c.temporal_patch_size > 0 && c.spatial_merge_size > 0,
               "vision_config has a non-positive size (depth {}, hidden_size {}, intermediate_size {}, "
               "out_hidden_size {}, in_channels {}, patch_size {}, temporal_patch_size {}, spatial_merge_size {}). "
               "HINT: check config.json",
               c.depth, c.hidden_size, c.intermediate_size, c.out_hidden_size, c.in_channels, c.patch_size,
               c.temporal_patch_size, c.spatial_merge_size);
  BALCAP_CHECK(c.num_heads > 0 && c.hidden_size % c.num_heads == 0 && (c.hidden_size / c.num_heads) % 4 == 0,
               "vision_config.hidden_size {} / num_heads {} must give a head_dim that is a multiple of 4 (the 2-D "
               "rotary splits it in quarters). HINT: check config.json",
               c.hidden_size, c.num_heads);
  BALCAP_CHECK(c.window_size / c.spatial_merge_size / c.patch_size > 0,
               "vision_config.window_size {} is smaller than spatial_merge_size {} x patch_size {}. HINT: check "
               "config.json (Qwen2.5-VL uses 112, 2, 14)",
               c.window_size, c.spatial_merge_size, c.patch_size);
}

// "[2, 1176] Float" / "none", for messages.
std::string describe(const at::Tensor& t) {
  return t.defined() ? fmt::format("[{}] {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type())) : "none";
}

std::vector<int64_t> grid_rows(const at::Tensor& grid_thw) {
  BALCAP_CHECK(grid_thw.defined() && grid_thw.dim() == 2 && grid_thw.size(1) == 3 && !grid_thw.is_floating_point(),
               "image_grid_thw must be an integer tensor [n_images, 3], got {}. HINT: pass the grid the image "
               "processor returned with pixel_values",
               describe(grid_thw));
  const at::Tensor rows = grid_thw.to(at::kCPU, at::kLong).contiguous();
  return {rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.numel()};
}

// Rows grouped in units of `unit` consecutive rows (one merged token), units reordered by `index`.
// x: [S, ...] -> [S, ...]
at::Tensor reorder_units(const at::Tensor& x, const at::Tensor& index, int64_t unit) {
  const auto sizes = x.sizes().vec();
  std::vector<int64_t> grouped{x.size(0) / unit, unit};
  grouped.insert(grouped.end(), sizes.begin() + 1, sizes.end());
  return x.reshape(grouped).index_select(0, index).reshape(sizes);
}

}  // namespace

Qwen2_5_VisionPatchEmbedImpl::Qwen2_5_VisionPatchEmbedImpl(const io::Qwen2_5_VLVisionConfig& c)
    : hidden_size(c.hidden_size), row_size(c.in_channels * c.temporal_patch_size * c.patch_size * c.patch_size) {
  const auto kernel = torch::ExpandingArray<3>({c.temporal_patch_size, c.patch_size, c.patch_size});
  proj = register_module(
      "proj",
      torch::nn::Conv3d(torch::nn::Conv3dOptions(c.in_channels, c.hidden_size, kernel).stride(kernel).bias(false)));
}

at::Tensor Qwen2_5_VisionPatchEmbedImpl::forward(const at::Tensor& pixel_values) {
  // Each row is exactly one (C, T, P, P) kernel window, so the stride-equal Conv3d is a matmul
  // with the flattened kernel: [N, row] x [row, hidden]^T.
  const at::Tensor& weight = proj->weight;
  const at::Tensor x = pixel_values.to(weight.device(), weight.scalar_type());
  return at::linear(x, weight.view({hidden_size, row_size}));
}

Qwen2_5_VLVisionBlockImpl::Qwen2_5_VLVisionBlockImpl(const io::Qwen2_5_VLVisionConfig& c) {
  norm1 = register_module("norm1", RMSNorm(c.hidden_size, kVisionNormEps));
  norm2 = register_module("norm2", RMSNorm(c.hidden_size, kVisionNormEps));
  attn = register_module("attn", Qwen2_5_VLVisionAttention(c));
  mlp = register_module("mlp", SwiGluMlp(SwiGluMlpOptions{c.hidden_size, c.intermediate_size, true, c.hidden_act}));
}

at::Tensor Qwen2_5_VLVisionBlockImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                              const VisionSegments& segments) {
  const at::Tensor h = x + attn(norm1(x), cos, sin, segments);
  return h + mlp(norm2(h));
}

Qwen2_5_VLPatchMergerImpl::Qwen2_5_VLPatchMergerImpl(const io::Qwen2_5_VLVisionConfig& c)
    : merged_size(c.hidden_size * c.spatial_merge_size * c.spatial_merge_size) {
  ln_q = register_module("ln_q", RMSNorm(c.hidden_size, kVisionNormEps));
  mlp = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(merged_size, merged_size),
                                                     torch::nn::GELU(),  // exact erf GELU, as nn.GELU()
                                                     torch::nn::Linear(merged_size, c.out_hidden_size)));
}

at::Tensor Qwen2_5_VLPatchMergerImpl::forward(const at::Tensor& x) {
  return mlp->forward(ln_q(x).reshape({-1, merged_size}));
}

Qwen2_5_VisionTransformerImpl::Qwen2_5_VisionTransformerImpl(const io::Qwen2_5_VLVisionConfig& c) : config(c) {
  check_vision_config(c);
  patch_embed = register_module("patch_embed", Qwen2_5_VisionPatchEmbed(c));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks->push_back(Qwen2_5_VLVisionBlock(c));
  merger = register_module("merger", Qwen2_5_VLPatchMerger(c));
}

at::Tensor Qwen2_5_VisionTransformerImpl::forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw) {
  const io::Qwen2_5_VLVisionConfig& c = config;
  const int64_t unit = c.spatial_merge_size * c.spatial_merge_size;
  const auto grids = validated_vision_grids(grid_rows(grid_thw), c.spatial_merge_size);
  const int64_t patches = vision_patch_count(grids);
  BALCAP_CHECK(pixel_values.defined() && pixel_values.dim() == 2 && pixel_values.size(0) == patches &&
                   pixel_values.size(1) == patch_embed->row_size,
               "pixel_values has shape {}, but image_grid_thw describes {} patches of {} values. HINT: pass the "
               "pixel_values and image_grid_thw the image processor returned together",
               describe(pixel_values), patches, patch_embed->row_size);
  const at::Device device = patch_embed->proj->weight.device();

  // Host-side bookkeeping, once per call: window order, attention segments, rotary table.
  const VisionWindowIndex windows = qwen2_5_vl_window_index(grids, c.spatial_merge_size, c.window_size, c.patch_size);
  std::vector<int64_t> unwindow(windows.window_index.size());  // argsort(window_index)
  for (size_t j = 0; j < windows.window_index.size(); ++j) {
    unwindow[static_cast<size_t>(windows.window_index[j])] = static_cast<int64_t>(j);
  }
  const auto long_opts = at::TensorOptions().dtype(at::kLong);
  const at::Tensor window_index = at::tensor(windows.window_index, long_opts).to(device);
  const at::Tensor unwindow_index = at::tensor(unwindow, long_opts).to(device);
  const VisionSegments full = make_vision_segments(qwen2_5_vl_vision_cu_seqlens(grids), device);
  const VisionSegments windowed = make_vision_segments(windows.cu_window_seqlens, device);
  const auto [cos_rows, sin_rows] =
      qwen2_5_vl_vision_cos_sin(qwen2_5_vl_vision_position_ids(grids, c.spatial_merge_size),
                                c.hidden_size / c.num_heads, kVisionRopeTheta, device);

  // Everything below runs in window order: [N, hidden], cos/sin [N, head_dim].
  at::Tensor x = reorder_units(patch_embed(pixel_values), window_index, unit);
  const at::Tensor cos = reorder_units(cos_rows, window_index, unit);
  const at::Tensor sin = reorder_units(sin_rows, window_index, unit);
  for (int64_t i = 0; i < c.depth; ++i) {
    const bool full_attention =
        std::find(c.fullatt_block_indexes.begin(), c.fullatt_block_indexes.end(), i) != c.fullatt_block_indexes.end();
    x = blocks[i]->as<Qwen2_5_VLVisionBlockImpl>()->forward(x, cos, sin, full_attention ? full : windowed);
  }
  // [N / unit, out_hidden] in window order -> processor order.
  return merger(x).index_select(0, unwindow_index);
}

}  // namespace balcap::models
