// PNG -> RGB with libpng, matching what transformers' image processor sees for a PIL image object.
//
// The route (transformers 5.24 + Pillow 13, PIL backend): PIL.Image.open, ImageOps.exif_transpose,
// and the object handed to the processor -- what HF datasets' Image feature (which applies
// exif_transpose itself) and so TRL's VLM trainers give it. fetch_images passes an object through
// untouched (transformers applies no EXIF orientation to an object; balcap does, as load_image and
// HF datasets do) and PilBackend.process_image runs image_transforms.convert_to_rgb on it: an image
// with an alpha band or an info["transparency"] is converted to RGBA and alpha-composited onto
// opaque white (PIL.Image.alpha_composite), then to RGB. Per pixel:
// - alpha channels (RGBA, grey+alpha; 16-bit ones keep the high byte of colour and alpha, PIL's
//   ";16B" raw modes, 16-bit grey+alpha opening as RGBA): out = over_white(c, a) per channel;
// - palette: PIL keeps tRNS as one alpha per entry (one 0 among 255s as an int index, otherwise
//   the bytes), entries past the chunk opaque, entries past PLTE black; convert("RGBA") gives each
//   index its own colour and alpha, so out = over_white(colour, alpha of that index). A tRNS
//   longer than PLTE still applies in PIL (libpng would drop it), so libpng is told to hand tRNS
//   over raw (on_chunk) and the palette lookup is done here;
// - colour keys (alpha 0 on match, 255 otherwise, so key pixels become (255, 255, 255)): grey
//   tRNS as PIL reads it (1-bit: 255 if non-zero else 0; 2/4/8-bit: the stored value compared
//   with the 8-bit level, so only 0 can match a 2/4-bit image; 16-bit grey: ignored, see below)
//   and RGB tRNS (its stored values, 16-bit for 16-bit files, compared with the 8-bit pixels as
//   PIL does: a key above 255 never matches). A tRNS in an RGBA or grey+alpha file (not allowed by
//   the spec) is ignored, as PIL does; a grey/RGB tRNS too short to hold a key is ignored (PIL
//   refuses the file).
// over_white is Pillow's AlphaComposite.c on uint8 with dst = (255, 255, 255, 255):
//   t = (c * a + 255 * (255 - a)) * 128 + (0x80 << 7), out = (((t >> 8) + t) >> 8) >> 7,
// which equals round((c * a + 255 * (255 - a)) / 255) (checked against Pillow 13 on all 65536
// pairs, and in the parity tests): 255 for a = 0 and c for a = 255.
// 1/2/4-bit grey is scaled to 8 bits and grey is replicated. 16-bit grey (PIL's I;16) keeps the
// high byte (PIL's convert clips it at 255; docs/formats.md lists this exception).
//
// Why this route: it is what transformers' processor does with an image object, what HF datasets
// and TRL's data path give, and what vLLM and qwen_vl_utils give for RGBA (they paste an RGBA image
// onto white with its alpha as mask, byte-equal to alpha_composite; they convert grey+alpha and
// palette alpha with convert("RGB"), which drops the alpha). transformers given a file path or URL
// instead calls image_utils.load_image, whose convert("RGB") drops an alpha channel and partial
// palette alpha before convert_to_rgb runs (the stored colour is kept even under alpha 0; only a
// colour key survives); tests/parity/vision_alpha_parity_test.cpp checks balcap against the
// object route and that the path route differs on the partial-alpha images. JPEG has no alpha
// (PIL's JPEG modes are L, RGB and CMYK), so the PNG decoder is the only one that meets it.
//
// eXIf, "Raw profile type exif" and XMP (iTXt) are returned for the EXIF orientation.
//
// libpng reports errors by longjmp: the reading function keeps only trivially destructible
// locals and writes its results through a state struct owned by the caller.
#include "vision/png_decode.h"

#include <png.h>

#include <array>
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
  int channels = 0;               // after the transforms: 1 G or palette index, 2 GA, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;    // [height, width, channels]
  std::vector<png_bytep> rows;
  int64_t max_pixels = 0;         // the bomb check's bound (decode_image_bytes)
  std::string size_error;         // set by the bomb check, reported as our own error
  int color_type = 0, bit_depth = 0;  // as stored in the file
  bool has_trns = false;          // the last raw tRNS chunk, as PIL's chunk_tRNS sees it (on_chunk)
  std::vector<uint8_t> trns;
  bool has_key = false;           // a grey/RGB colour key (apply_transparency), 8-bit-pixel terms
  png_uint_16 key[3] = {0, 0, 0};
  std::array<uint8_t, 256 * 4> palette{};  // palette images: RGBA per index, black past PLTE
};

void on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  if (state->error.empty()) state->error = message;
  longjmp(png_jmpbuf(png), 1);
}

void on_warning(png_structp, png_const_charp) {}  // benign (bad ancillary CRC, extra data)

constexpr png_byte kTrnsChunk[5] = {'t', 'R', 'N', 'S', '\0'};

// libpng hands tRNS over raw (png_set_keep_unknown_chunks in configure): it would drop a tRNS
// longer than PLTE, which PIL applies. Like PIL, which reads the chunks after IDAT when the image
// is loaded (exif_transpose does) into the same info dict, the last tRNS wins, wherever it is.
// Other unknown chunks: ancillary ones are skipped (1: handled), critical ones stay libpng's error.
int on_chunk(png_structp png, png_unknown_chunkp chunk) {
  if (std::memcmp(chunk->name, kTrnsChunk, 4) != 0) return (chunk->name[0] & 0x20) != 0 ? 1 : 0;
  auto* state = static_cast<PngState*>(png_get_user_chunk_ptr(png));
  state->has_trns = true;
  state->trns.assign(chunk->data, chunk->data + chunk->size);
  return 1;
}

// Pillow's alpha_composite of (c, a) over opaque white (AlphaComposite.c; top comment).
inline uint8_t over_white(uint32_t c, uint32_t a) {
  const uint32_t t = (c * a + 255u * (255u - a)) * 128u + (0x80u << 7);
  return uint8_t((((t >> 8) + t) >> 8) >> 7);
}

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

// The transparency PIL reads from tRNS (PngImagePlugin.chunk_tRNS) and convert("RGBA") applies:
// per-index palette alpha (entries past the chunk opaque), or a grey/RGB colour key. tRNS in
// grey+alpha / RGBA files and in 16-bit grey (I;16, see the top comment) is ignored.
void apply_transparency(PngState& state) {
  const std::vector<uint8_t>& t = state.trns;
  if (!state.has_trns) return;
  if (state.color_type == PNG_COLOR_TYPE_PALETTE) {
    for (size_t i = 0; i < t.size() && i < 256; ++i) state.palette[i * 4 + 3] = t[i];
    return;
  }
  const auto be16 = [&t](size_t at) { return png_uint_16(t[at] << 8 | t[at + 1]); };
  if (state.color_type == PNG_COLOR_TYPE_GRAY && state.bit_depth < 16 && t.size() >= 2) {
    const png_uint_16 grey = state.bit_depth == 1 ? (be16(0) != 0 ? 255 : 0) : be16(0);  // PIL's "1"
    state.has_key = true;
    state.key[0] = state.key[1] = state.key[2] = grey;
  } else if (state.color_type == PNG_COLOR_TYPE_RGB && t.size() >= 6) {
    state.has_key = true;
    state.key[0] = be16(0), state.key[1] = be16(2), state.key[2] = be16(4);
  }
}

// Palette images: PLTE into the RGBA lookup table, opaque (apply_transparency adds tRNS alpha).
void read_palette(png_structp png, png_infop info, PngState& state) {
  png_colorp colours = nullptr;
  int count = 0;
  png_get_PLTE(png, info, &colours, &count);
  for (int i = 0; i < 256; ++i) {
    uint8_t* entry = &state.palette[size_t(i) * 4];
    if (i < count) entry[0] = colours[i].red, entry[1] = colours[i].green, entry[2] = colours[i].blue;
    entry[3] = 255;
  }
}

// Sets up the transforms to 8-bit indices/G/GA/RGB/RGBA and records the output layout.
void configure(png_structp png, png_infop info, PngState& state) {
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, kTrnsChunk, 1);
  png_set_read_user_chunk_fn(png, &state, on_chunk);
  png_read_info(png, info);
  state.width = png_get_image_width(png, info);
  state.height = png_get_image_height(png, info);
  if (int64_t(state.width) * int64_t(state.height) > state.max_pixels) {
    state.size_error = "oversized";
    png_error(png, "image too large");
  }
  const int color_type = state.color_type = png_get_color_type(png, info);
  state.bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    read_palette(png, info, state);
    png_set_packing(png);  // one index per byte, looked up in to_rgb
  }
  if (color_type == PNG_COLOR_TYPE_GRAY && state.bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
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

// The decoded samples composited onto white (top comment) into rgb [height, width, 3].
void to_rgb(const PngState& state, uint8_t* rgb) {
  const size_t n = size_t(state.width) * state.height;
  const int c = state.channels;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &state.pixels[i * c];
    uint8_t* q = &rgb[i * 3];
    if (state.color_type == PNG_COLOR_TYPE_PALETTE) {
      const uint8_t* entry = &state.palette[size_t(p[0]) * 4];
      for (int k = 0; k < 3; ++k) q[k] = over_white(entry[k], entry[3]);
    } else if (c == 2) {  // grey+alpha
      q[0] = q[1] = q[2] = over_white(p[0], p[1]);
    } else if (c == 4) {
      for (int k = 0; k < 3; ++k) q[k] = over_white(p[k], p[3]);
    } else {  // grey or RGB, maybe with a colour key
      q[0] = p[0], q[1] = p[c == 3 ? 1 : 0], q[2] = p[c == 3 ? 2 : 0];
      if (state.has_key && q[0] == state.key[0] && q[1] == state.key[1] && q[2] == state.key[2]) {
        q[0] = q[1] = q[2] = 255;  // alpha 0 composited onto white
      }
    }
  }
}

}  // namespace

DecodedImage decode_png(std::span<const uint8_t> bytes, const std::string& name, int64_t max_pixels) {
  PngState state;
  state.bytes = bytes;
  state.max_pixels = max_pixels;
  DecodedImage out;
  if (!read_png(state, out.exif, out.xmp)) {
    if (!state.size_error.empty()) check_image_size(state.width, state.height, max_pixels, name);
    fail("image {}: cannot decode PNG: {}. HINT: the file is corrupt or truncated; re-export it or remove "
         "it from the dataset", name, state.error);
  }
  out.image.width = int(state.width);
  out.image.height = int(state.height);
  out.image.rgb.resize(size_t(state.width) * state.height * 3);
  apply_transparency(state);
  to_rgb(state, out.image.rgb.data());
  return out;
}

}  // namespace balcap::vision::detail
