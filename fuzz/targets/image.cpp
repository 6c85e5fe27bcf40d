// Harness `image`: the bytes are an image file. decode_image_bytes detects PNG/JPEG by magic bytes
// and decodes it (libpng / libjpeg-turbo, transparency onto white, EXIF/XMP orientation); a decoded
// image then goes through both image processors as a model directory configures them (Qwen2.5-VL's
// and LLaVA-1.5's preprocessor_config.json from tests/data/io/hub): smart resize + patches, and
// shortest-edge resize + centre crop. Images are bounded by kFuzzMaxPixels (fuzz_support.h).
#include <ATen/Parallel.h>

#include "fuzz_support.h"
#include "vision/image.h"
#include "vision/image_processor.h"

namespace balcap::fuzz {
namespace {

// The processors' bicubic resampling is balcap's own per-pixel loop: under ASan + UBSan + coverage
// it takes ~1 s for a 640 x 427 image on the fuzzing machine, so only images up to 2^16 pixels
// (256 x 256; every aspect ratio, including the extreme ones the processors refuse) are processed.
constexpr int64_t kMaxProcessedPixels = int64_t{1} << 16;

struct Processors {
  std::unique_ptr<vision::ImageProcessor> qwen, clip;
};

const Processors& processors() {
  static const Processors p = [] {
    at::set_num_threads(1);  // one core per fuzzing process; results do not depend on it
    const auto hub = test_data_dir() / "io" / "hub";
    return Processors{vision::load_image_processor(hub / "qwen2_5_vl_3b_instruct"),
                      vision::load_image_processor(hub / "llava_1_5_7b_hf")};
  }();
  return p;
}

}  // namespace

int image(Bytes input) {
  quiet_logs();
  const Processors& p = processors();
  accepted([&] {
    const vision::Image decoded = vision::decode_image_bytes(input, "fuzz input", kFuzzMaxPixels);
    if (int64_t{decoded.width} * decoded.height > kMaxProcessedPixels) return;
    (void)p.qwen->process(decoded);
    (void)p.clip->process(decoded);
  });
  return 0;
}

}  // namespace balcap::fuzz
