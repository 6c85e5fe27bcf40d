// encode_png: libpng writer into memory (8-bit RGB, no interlace, zlib level 6, adaptive filters
// off -> one fixed filter so the bytes do not depend on heuristics we do not control).
//
// libpng reports errors by longjmp: the writing function keeps only trivially destructible
// locals and writes through a state struct owned by the caller.
#include "vision/png_encode.h"

#include <png.h>

#include <csetjmp>
#include <fstream>
#include <string>
#include <system_error>

#include "core/error.h"

namespace balcap::vision {
namespace {

struct PngWriteState {
  std::vector<uint8_t> out;
  std::string error;
};

void on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngWriteState*>(png_get_error_ptr(png));
  if (state->error.empty()) state->error = message;
  longjmp(png_jmpbuf(png), 1);
}

void on_warning(png_structp, png_const_charp) {}

void on_write(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<PngWriteState*>(png_get_io_ptr(png));
  state->out.insert(state->out.end(), data, data + length);
}

void on_flush(png_structp) {}

// Returns false on a libpng error (message in state.error). rows: one pointer per image row.
bool write_rows(PngWriteState& state, const Image& image, png_bytep* rows) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  if (png == nullptr) {
    state.error = "png_create_write_struct failed";
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    if (state.error.empty()) state.error = "png_create_info_struct failed";
    return false;
  }
  png_set_write_fn(png, &state, on_write, on_flush);
  png_set_compression_level(png, 6);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& image) {
  BALCAP_CHECK(
      image.width > 0 && image.height > 0 && image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3,
      "encode_png: a {}x{} image needs {} RGB bytes, got {}. HINT: this is a bug in the caller", image.width,
      image.height, static_cast<int64_t>(image.width) * image.height * 3, image.rgb.size());
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  auto* base = const_cast<uint8_t*>(image.rgb.data());  // libpng's row type is non-const; it only reads
  for (int y = 0; y < image.height; ++y) rows[y] = base + static_cast<size_t>(y) * image.width * 3;
  PngWriteState state;
  BALCAP_CHECK(write_rows(state, image, rows.data()), "encode_png: libpng failed: {}. HINT: report this as a bug",
               state.error);
  return std::move(state.out);
}

void write_png_file(const std::filesystem::path& path, const Image& image) {
  auto bytes = encode_png(image);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    BALCAP_CHECK(out, "cannot create {}. HINT: check that the directory exists and is writable", tmp.string());
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    BALCAP_CHECK(out.good(), "short write to {} (disk full?). HINT: free space and retry", tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  BALCAP_CHECK(!ec, "cannot rename {} to {}: {}. HINT: check permissions", tmp.string(), path.string(), ec.message());
}

}  // namespace balcap::vision
