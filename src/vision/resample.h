#pragma once
// Private to src/vision: Pillow's bicubic resize of an 8-bit RGB image (`Image.resize(size, BICUBIC)` with
// reducing_gap=None, libImaging/Resample.c, Pillow 13.0), reproduced bit for bit: separable, two
// passes with uint8 between them (horizontal first, unless the height shrinks by more than twice
// as many pixels as the width); Keys cubic with a = -0.5; the support widened by
// the scale when downsampling (antialias); coefficients in 22-bit fixed point; a pass whose size
// does not change is skipped.
#include "vision/image.h"

namespace balcap::vision {

// image [H, W, 3] -> [height, width, 3]. width, height >= 1.
Image resize_bicubic(const Image& image, int width, int height);
// The window [x0, x0 + w) x [y0, y0 + h) of resize_bicubic(image, width, height), bit for bit, at
// the cost of the window: a centre crop of an extreme aspect ratio (CLIP resizes 1 x 1000 pixels to
// 336 x 336000, then keeps 336 x 336) need not resize the whole image. The window lies inside.
Image resize_bicubic_window(const Image& image, int width, int height, int x0, int y0, int w, int h);

}  // namespace balcap::vision
