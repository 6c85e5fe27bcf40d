#pragma once
// Private to src/data: Draws a synthetic scene (scene.h) as an RGB image of scene.size x scene.size pixels.
//   background: plain = the colour; gradient = vertical, +30 at the top to -30 at the bottom;
//               noisy = the colour + a per-pixel grey offset uniform in [-24, 24] drawn from
//               SplitMix64(noise_seed) in row-major order. Channels clamp to [0, 255].
//   objects:    centred in their cell (cell side = size / 3) plus (dx, dy); radius r = 0.42 (large)
//               or 0.26 (small) of the cell side; circle |p| <= r, square max(|x|,|y|) <= 0.82 r,
//               diamond |x| + |y| <= 1.15 r, triangle (apex up) from y = -r to y = 0.7 r;
//               edges anti-aliased by 4x4 supersampling in integer arithmetic.
// Deterministic: the same scene gives the same pixels.
#include <array>
#include <cstdint>
#include <string_view>

#include "data/scene.h"
#include "vision/image.h"

namespace balcap::data {

vision::Image render_scene(const Scene& scene);

// The RGB of an object or background colour word (kObjectColours, kBackgroundColours).
std::array<std::uint8_t, 3> colour_rgb(std::string_view colour);

// Largest |dx|, |dy| that keeps an object of `size` inside its cell with a 1-pixel margin.
int max_offset(int image_size, std::string_view size);

}  // namespace balcap::data
