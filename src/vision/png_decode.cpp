// PNG -> RGB with libpng, matching what transformers' image processor sees for an image *path*.
//
// The path route (transformers 5.24 + Pillow 13, PIL backend; the torchvision backend, not
// installed here, overrides fetch_images with load_image_as_tensor and is not what balcap checks):
// the processor's fetch_images (ImageProcessingMixin.fetch_images, reached from
// BaseImageProcessor._prepare_images_structure and from ProcessorMixin's input preparation, chat
// templates included) calls image_utils.load_image: PIL.Image.open, ImageOps.exif_transpose,
// Image.convert("RGB"). PilBackend.process_image then runs image_transforms.convert_to_rgb on that
// already-RGB image; it composites onto white only what still carries transparency after
// convert("RGB"): a colour key in info["transparency"]. Per pixel:
// - alpha channels (RGBA, grey+alpha, 8 or 16 bit) are dropped by convert("RGB"), not composited:
//   out = the stored (R, G, B) / (L, L, L), whatever the alpha, alpha 0 included;
// - palette entries are looked up; partial palette alpha (tRNS bytes other than one 0 entry with
//   the rest 255) is dropped (PIL warns "Palette images with Transparency expressed in bytes...");
// - a colour key that survives convert("RGB") -- grey tRNS (the value compared with the 8-bit grey
//   level; not for 16-bit grey), RGB tRNS (its stored values, 16-bit for 16-bit files, compared with
//   the 8-bit pixels as PIL does: a key above 255 never matches), or a palette tRNS whose only
//   non-255 entry is one 0 (the key is that entry's colour) -- becomes alpha 0 (others 255) in
//   convert_to_rgb's convert("RGBA"), then PIL.Image.alpha_composite(opaque white, image):
//   Pillow's AlphaComposite.c on uint8 with dst = (255, 255, 255, 255) computes
//   t = (c * a + 255 * (255 - a)) * 128 + (0x80 << 7), out = (((t >> 8) + t) >> 8) >> 7,
//   which equals round((c * a + 255 * (255 - a)) / 255) for every (c, a) (checked against Pillow 13
//   on all 65536 pairs): 255 for a = 0 and c for a = 255. So key pixels become (255, 255, 255)
//   and the others keep their colour;
// - 16-bit samples keep the high byte (PIL's ";16B" raw modes; 16-bit grey+alpha opens as RGBA),
//   1/2/4-bit grey is scaled to 8 bits, grey is replicated. A tRNS chunk in an RGBA or grey+alpha
//   file (not allowed by the spec) is ignored, as PIL does.
// A PIL object handed to the processor instead (Image.open without convert) keeps its alpha and
// convert_to_rgb composites it onto white with the formula above; vLLM and qwen_vl_utils
// composite too. balcap follows the path route; tests/parity/vision_alpha_parity_test.cpp checks
// it and that the composited route differs on those images. JPEG has no alpha (PIL's JPEG modes are
// L, RGB and CMYK), so the PNG decoder is the only one that meets transparency.
//
// eXIf, "Raw profile type exif" and XMP (iTXt) are returned for the EXIF orientation.
//
// libpng reports errors by longjmp: the reading function keeps only trivially destructible
// locals and writes its results through a state struct owned by the caller.
#include "vision/png_decode.h"

#include <png.h>

#include <csetjmp>
#include <cstring>
#include <string_view>

#include "core/error.h"

namespace balcap::vision::detail {
namespace {

struct PngState {
  std::span<const uint8_t> bytes;
  size_t cursor = 0;
  std::string error;           // libpng's message of the first error
  bool image_complete = false;  // all rows read: later errors only lose metadata
  png_uint_32 width = 0, height = 0;
  int channels = 0;               // after the transforms: 1 G, 2 GA, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;    // [height, width, channels]
  std::vector<png_bytep> rows;
  std::string size_error;         // set by the bomb check, reported as our own error
  // A tRNS colour key the HF processor still sees after load_image (see read_color_key).
  bool has_key = false;
  png_uint_16 key[3] = {0, 0, 0};
};

void on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  if (state->error.empty()) state->error = message;
  longjmp(png_jmpbuf(png), 1);
}

void on_warning(png_structp, png_const_charp) {}  // benign (bad ancillary CRC, extra data)

void on_read(png_structp png, png_bytep out, size_t length) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  if (state->bytes.size() - state->cursor < length) png_error(png, "unexpected end of file (the file is truncated)");
  std::memcpy(out, state->bytes.data() + state->cursor, length);
  state->cursor += length;
}

// ImageMagick's "Raw profile type exif" text: "\nexif\n<length>\n<hex lines>". PIL joins the
// lines after the third newline and decodes the hex; bad hex gives no EXIF here.
std::vector<uint8_t> raw_profile_bytes(std::string_view text) {
  size_t at = 0;
  for (int newline = 0; newline < 3; ++newline) {
    at = text.find('\n', at);
    if (at == std::string_view::npos) return {};
    ++at;
  }
  std::vector<uint8_t> bytes;
  int high = -1;
  for (char ch : text.substr(at)) {
    if (ch == '\n' || ch == ' ' || ch == '\r' || ch == '\t') continue;
    int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
          : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
    if (v < 0) return {};
    if (high < 0) {
      high = v;
    } else {
      bytes.push_back(uint8_t(high << 4 | v));
      high = -1;
    }
  }
  return bytes;
}

// The colour key PIL keeps through convert("RGB") (transformers' processor then composites it
// onto white): grey tRNS (value compared with the 8-bit grey level; not for 16-bit grey), RGB
// tRNS, and a palette tRNS with exactly one fully transparent entry and all others opaque (the
// key is that entry's colour). Partial palette alpha is dropped by PIL with a warning.
void read_color_key(png_structp png, png_infop info, PngState& state) {
  png_bytep alpha = nullptr;
  int num_trans = 0;
  png_color_16p color = nullptr;
  if (png_get_tRNS(png, info, &alpha, &num_trans, &color) == 0) return;
  const int color_type = png_get_color_type(png, info);
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 16 && color != nullptr) {
    state.has_key = true;
    state.key[0] = state.key[1] = state.key[2] = color->gray;
  } else if (color_type == PNG_COLOR_TYPE_RGB && color != nullptr) {
    state.has_key = true;
    state.key[0] = color->red, state.key[1] = color->green, state.key[2] = color->blue;
  } else if (color_type == PNG_COLOR_TYPE_PALETTE && alpha != nullptr) {
    int transparent = -1, zeros = 0;
    bool others_opaque = true;
    for (int i = 0; i < num_trans; ++i) {
      if (alpha[i] == 0) transparent = i, ++zeros;
      else if (alpha[i] != 255) others_opaque = false;
    }
    png_colorp palette = nullptr;
    int num_palette = 0;
    if (zeros == 1 && others_opaque && png_get_PLTE(png, info, &palette, &num_palette) != 0 &&
        transparent < num_palette) {
      state.has_key = true;
      state.key[0] = palette[transparent].red, state.key[1] = palette[transparent].green,
      state.key[2] = palette[transparent].blue;
    }
  }
}

// Sets up the transforms to 8-bit G/GA/RGB/RGBA and records the output layout.
void configure(png_structp png, png_infop info, PngState& state) {
  png_read_info(png, info);
  state.width = png_get_image_width(png, info);
  state.height = png_get_image_height(png, info);
  if (int64_t(state.width) * int64_t(state.height) > kMaxImagePixels) {
    state.size_error = "oversized";
    png_error(png, "image too large");
  }
  const int color_type = png_get_color_type(png, info);
  read_color_key(png, info, state);  // before the transforms rewrite tRNS in `info`
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_16(png);  // keeps the high byte
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  state.channels = png_get_channels(png, info);
}

// EXIF (eXIf chunk, else ImageMagick's "Raw profile type exif" text) and XMP (iTXt) read so far.
void collect_metadata(png_structp png, png_infop info, std::vector<uint8_t>& exif, std::string& xmp) {
  png_bytep exif_data = nullptr;
  png_uint_32 exif_size = 0;
  if (png_get_eXIf_1(png, info, &exif_size, &exif_data) != 0) exif.assign(exif_data, exif_data + exif_size);
  png_textp texts = nullptr;
  int num_texts = 0;
  png_get_text(png, info, &texts, &num_texts);
  for (int i = 0; i < num_texts; ++i) {
    const char* text = texts[i].text != nullptr ? texts[i].text : "";
    const size_t length = texts[i].compression > 0 ? texts[i].itxt_length : texts[i].text_length;
    if (std::strcmp(texts[i].key, "XML:com.adobe.xmp") == 0) xmp.assign(text, length);
    if (std::strcmp(texts[i].key, "Raw profile type exif") == 0 && exif.empty()) {
      exif = raw_profile_bytes(std::string_view(text, length));
    }
  }
}

// Returns false on a libpng error (message in state.error).
bool read_png(PngState& state, std::vector<uint8_t>& exif, std::string& xmp) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  if (png == nullptr) return state.error = "out of memory", false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return state.image_complete && state.size_error.empty();
  }
  png_set_read_fn(png, &state, on_read);
  configure(png, info, state);
  const size_t stride = size_t(state.width) * state.channels;
  state.pixels.resize(stride * state.height);
  state.rows.resize(state.height);
  for (png_uint_32 y = 0; y < state.height; ++y) state.rows[y] = state.pixels.data() + y * stride;
  collect_metadata(png, info, exif, xmp);  // chunks before IDAT
  png_read_image(png, state.rows.data());
  state.image_complete = true;  // like PIL, a damaged tail (e.g. no IEND) only loses late chunks
  png_read_end(png, info);
  collect_metadata(png, info, exif, xmp);  // eXIf / iTXt may also follow the image data
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

DecodedImage decode_png(std::span<const uint8_t> bytes, const std::string& name) {
  PngState state;
  state.bytes = bytes;
  DecodedImage out;
  if (!read_png(state, out.exif, out.xmp)) {
    if (!state.size_error.empty()) check_image_size(state.width, state.height, name);
    fail("image {}: cannot decode PNG: {}. HINT: the file is corrupt or truncated; re-export it or remove "
         "it from the dataset", name, state.error);
  }
  out.image.width = int(state.width);
  out.image.height = int(state.height);
  out.image.rgb.resize(size_t(state.width) * state.height * 3);
  const size_t n = size_t(state.width) * state.height;
  const int c = state.channels;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &state.pixels[i * c];
    uint8_t* q = &out.image.rgb[i * 3];
    if (c <= 2) {  // grey (+alpha): replicate
      q[0] = q[1] = q[2] = p[0];
    } else {       // RGB (+alpha): drop alpha
      q[0] = p[0], q[1] = p[1], q[2] = p[2];
    }
    if (state.has_key && q[0] == state.key[0] && q[1] == state.key[1] && q[2] == state.key[2]) {
      q[0] = q[1] = q[2] = 255;  // transparent -> composited onto white
    }
  }
  return out;
}

}  // namespace balcap::vision::detail
