// JPEG -> RGB with libjpeg-turbo, matching PIL's JPEG plugin + convert("RGB"): greyscale is
// replicated; YCbCr/RGB are converted by libjpeg (PIL uses the same library and defaults: islow
// IDCT, fancy upsampling); 4-component files are read as CMYK (libjpeg turns YCCK into CMYK),
// taken with Adobe's inverted polarity as PIL always does ("CMYK;I"), and converted with PIL's
// cmyk2rgb. A file that ends before the image data does is an error, as in PIL ("image file is
// truncated"); libjpeg's other corrupt-data warnings are tolerated, as PIL tolerates them.
//
// libjpeg reports errors by longjmp (its default error_exit calls exit()): the reading function
// keeps only trivially destructible locals and writes results through a caller-owned struct.
#include "vision/jpeg_decode.h"

#include <cstdio>  // jpeglib.h needs FILE
#include <jpeglib.h>
#include <jerror.h>

#include <csetjmp>
#include <cstring>

#include "core/error.h"

namespace balcap::vision::detail {
namespace {

struct JpegState {
  jpeg_error_mgr manager;  // first member: libjpeg hands back a pointer to it
  jmp_buf jump;
  std::string error;
  int64_t max_pixels = 0;  // the bomb check's bound (decode_image_bytes)
  bool oversized = false;
  int width = 0, height = 0, components = 0;
  std::vector<uint8_t> pixels;  // [height, width, components] as libjpeg outputs them
  std::vector<uint8_t> exif;
  std::string xmp;
};

JpegState& state_of(j_common_ptr cinfo) { return *reinterpret_cast<JpegState*>(cinfo->err); }

void on_error_exit(j_common_ptr cinfo) {
  char message[JMSG_LENGTH_MAX];
  cinfo->err->format_message(cinfo, message);
  if (state_of(cinfo).error.empty()) state_of(cinfo).error = message;
  longjmp(state_of(cinfo).jump, 1);
}

// Warnings (msg_level -1): running out of data is fatal, like PIL; the rest are tolerated.
void on_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    state_of(cinfo).error = "premature end of data (the file is truncated)";
    longjmp(state_of(cinfo).jump, 1);
  }
}

constexpr char kExifId[] = "Exif\0\0";                          // 6 bytes
constexpr char kXmpId[] = "http://ns.adobe.com/xap/1.0/";       // + NUL

// EXIF (the first APP1 "Exif" segment) and XMP (the last APP1 XMP segment), as PIL's APP handler.
void collect_markers(j_decompress_ptr cinfo, JpegState& state) {
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != nullptr; m = m->next) {
    if (m->marker != JPEG_APP0 + 1) continue;
    const size_t xmp_id = sizeof(kXmpId);  // includes the NUL
    if (m->data_length >= 6 && std::memcmp(m->data, kExifId, 6) == 0 && state.exif.empty()) {
      state.exif.assign(m->data, m->data + m->data_length);
    } else if (m->data_length >= xmp_id && std::memcmp(m->data, kXmpId, xmp_id) == 0) {
      state.xmp.assign(reinterpret_cast<const char*>(m->data) + xmp_id, m->data_length - xmp_id);
    }
  }
}

bool read_jpeg(std::span<const uint8_t> bytes, JpegState& state) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&state.manager);
  state.manager.error_exit = on_error_exit;
  state.manager.emit_message = on_message;
  if (setjmp(state.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  collect_markers(&cinfo, state);
  state.width = int(cinfo.image_width);
  state.height = int(cinfo.image_height);
  if (int64_t(state.width) * state.height > state.max_pixels) {
    state.oversized = true;
    longjmp(state.jump, 1);
  }
  switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default:
      state.error = "cannot handle " + std::to_string(cinfo.num_components) + "-component images";
      longjmp(state.jump, 1);
  }
  jpeg_start_decompress(&cinfo);
  state.components = cinfo.output_components;
  const size_t stride = size_t(cinfo.output_width) * cinfo.output_components;
  state.pixels.resize(stride * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = state.pixels.data() + size_t(cinfo.output_scanline) * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// PIL's MULDIV255(a, b): a * b / 255 rounded, in integers.
inline int muldiv255(int a, int b) {
  int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

// PIL: inverted CMYK (c' = 255 - c) then cmyk2rgb: r = clip(nk - c'*nk/255), nk = 255 - k'.
void cmyk_to_rgb(const uint8_t* cmyk, uint8_t* rgb) {
  const int nk = cmyk[3];  // 255 - (255 - k)
  for (int i = 0; i < 3; ++i) {
    int v = nk - muldiv255(255 - cmyk[i], nk);
    rgb[i] = uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

}  // namespace

DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels) {
  JpegState state;
  state.max_pixels = max_pixels;
  if (!read_jpeg(bytes, state)) {
    if (state.oversized) check_image_size(state.width, state.height, max_pixels, name);
    fail("image {}: cannot decode JPEG: {}. HINT: the file is corrupt or truncated; re-export it or remove it "
         "from the dataset", name, state.error);
  }
  DecodedImage out;
  out.exif = std::move(state.exif);
  out.xmp = std::move(state.xmp);
  out.image.width = state.width;
  out.image.height = state.height;
  out.image.rgb.resize(size_t(state.width) * state.height * 3);
  const size_t n = size_t(state.width) * state.height;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* q = &out.image.rgb[i * 3];
    if (state.components == 1) {
      q[0] = q[1] = q[2] = state.pixels[i];
    } else if (state.components == 3) {
      std::memcpy(q, &state.pixels[i * 3], 3);
    } else {
      cmyk_to_rgb(&state.pixels[i * 4], q);
    }
  }
  return out;
}

}  // namespace balcap::vision::detail
