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

}  // namespace balcap::vision
