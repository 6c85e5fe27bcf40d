// Pillow's bicubic resampling (libImaging/Resample.c, 8 bits per channel), written from its
// algorithm: per output index a window of input samples [xmin, xmin + count) and fixed-point
// weights; horizontal pass into a uint8 image, then the vertical pass. Each output sample depends
// on its own input window only, so a window of the output is computed alone, exactly.
#include "vision/resample.h"

#include <algorithm>
#include <cmath>

namespace balcap::vision {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // 22: room for 8-bit values and negative lobes
constexpr double kSupport = 2.0;            // bicubic support (in input samples at scale 1)

// Keys cubic convolution kernel, a = -0.5.
double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Fixed-point weights for resizing one axis from in_size to out_size samples, for the output
// indices [out_first, out_first + out_count) (index i of the arrays is output out_first + i).
struct AxisWeights {
  int ksize = 0;                 // stride of `weights` per output index
  std::vector<int> first;        // [out] first input index
  std::vector<int> count;        // [out] number of input samples used
  std::vector<int32_t> weights;  // [out, ksize] in units of 2^-22
};

AxisWeights axis_weights(int in_size, int out_size, int out_first, int out_count) {
  // Pillow takes the box edges as floats (in0 = 0, in1 = in_size) and the scale in double.
  const double scale = double(static_cast<float>(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);  // widen the kernel when downsampling
  const double support = kSupport * filterscale;
  AxisWeights w;
  w.ksize = int(std::ceil(support)) * 2 + 1;
  w.first.resize(out_count);
  w.count.resize(out_count);
  w.weights.assign(size_t(out_count) * w.ksize, 0);
  std::vector<double> k(w.ksize);
  for (int xx = 0; xx < out_count; ++xx) {
    const double center = (out_first + xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(int(center - support + 0.5), 0);          // C cast: truncation
    const int xmax = std::min(int(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = bicubic((x + xmin - center + 0.5) * ss);
      total += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = total != 0.0 ? k[x] / total : k[x];
      // Round half away from zero to 22-bit fixed point.
      w.weights[size_t(xx) * w.ksize + x] = int32_t(v < 0 ? -0.5 + v * (1 << kPrecisionBits)
                                                          : 0.5 + v * (1 << kPrecisionBits));
    }
    w.first[xx] = xmin;
    w.count[xx] = xmax;
  }
  return w;
}

// Accumulator (with the rounding half already added) -> uint8, clamped.
inline uint8_t clip8(int acc) {
  const int v = acc >> kPrecisionBits;  // arithmetic shift
  return uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
}

// The columns [x0, x0 + out_width) of `in` resized to `full_width` columns.
Image resample_horizontal(const Image& in, int full_width, int x0, int out_width) {
  const AxisWeights w = axis_weights(in.width, full_width, x0, out_width);
  Image out{out_width, in.height, std::vector<uint8_t>(size_t(out_width) * in.height * 3)};
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* row = &in.rgb[size_t(y) * in.width * 3];
    for (int xx = 0; xx < out_width; ++xx) {
      const int32_t* k = &w.weights[size_t(xx) * w.ksize];
      int acc[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1)};
      for (int x = 0; x < w.count[xx]; ++x) {
        const uint8_t* p = row + size_t(x + w.first[xx]) * 3;
        for (int c = 0; c < 3; ++c) acc[c] += p[c] * k[x];
      }
      uint8_t* q = &out.rgb[(size_t(y) * out_width + xx) * 3];
      for (int c = 0; c < 3; ++c) q[c] = clip8(acc[c]);
    }
  }
  return out;
}

// The rows [y0, y0 + out_height) of `in` resized to `full_height` rows.
Image resample_vertical(const Image& in, int full_height, int y0, int out_height) {
  const AxisWeights w = axis_weights(in.height, full_height, y0, out_height);
  const size_t stride = size_t(in.width) * 3;
  Image out{in.width, out_height, std::vector<uint8_t>(stride * out_height)};
  std::vector<int> acc(stride);
  for (int yy = 0; yy < out_height; ++yy) {
    const int32_t* k = &w.weights[size_t(yy) * w.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < w.count[yy]; ++y) {
      const uint8_t* row = &in.rgb[size_t(y + w.first[yy]) * stride];
      for (size_t i = 0; i < stride; ++i) acc[i] += row[i] * k[y];
    }
    uint8_t* q = &out.rgb[size_t(yy) * stride];
    for (size_t i = 0; i < stride; ++i) q[i] = clip8(acc[i]);
  }
  return out;
}

// Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many
// pixels as the width does (measured on Pillow 13.0.0 over hundreds of size pairs, boundaries
// included; Pillow <= 12 went horizontal first except for images over 100x taller than wide).
// The order matters because the intermediate image is rounded to uint8.
bool vertical_first(const Image& image, int width, int height) {
  return height < image.height && image.height - height > 2 * (image.width - width);
}

// The window [x0, x0 + w) x [y0, y0 + h) of `image` (a pass that keeps the size is skipped).
Image crop(const Image& image, int x0, int y0, int w, int h) {
  Image out{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  if (w == 0) return out;
  for (int y = 0; y < h; ++y) {
    const auto* from = &image.rgb[(size_t(y0 + y) * image.width + x0) * 3];
    std::copy(from, from + size_t(w) * 3, &out.rgb[size_t(y) * w * 3]);
  }
  return out;
}

}  // namespace

Image resize_bicubic(const Image& image, int width, int height) {
  return resize_bicubic_window(image, width, height, 0, 0, width, height);
}

Image resize_bicubic_window(const Image& image, int width, int height, int x0, int y0, int w, int h) {
  const bool needs_horizontal = width != image.width, needs_vertical = height != image.height;
  if (needs_horizontal && needs_vertical && vertical_first(image, width, height)) {
    return resample_horizontal(resample_vertical(image, height, y0, h), width, x0, w);
  }
  Image out = needs_horizontal ? resample_horizontal(image, width, x0, w) : crop(image, x0, 0, w, image.height);
  return needs_vertical ? resample_vertical(out, height, y0, h) : crop(out, 0, y0, w, h);
}

}  // namespace balcap::vision
