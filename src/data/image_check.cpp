// check_image: cheap load-time validation of a record's image. Reads at most the bytes up to
// the frame header (PNG: 33 bytes; JPEG: marker segments until SOFn), so validating a large
// dataset does not decode every image; `decode` = full decode with balcap's decoder.
#include "data/image_check.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <system_error>

#include "core/error.h"
#include "vision/image.h"

namespace balcap::data {
namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::string size_problem(std::int64_t width, std::int64_t height) {
  if (width <= 0 || height <= 0) return fmt::format("the image header says {}x{} pixels", width, height);
  if (width * height > vision::kMaxImagePixels) {
    return fmt::format("{}x{} pixels exceeds the limit of {} pixels", width, height, vision::kMaxImagePixels);
  }
  return "";
}

// PNG: 8-byte signature, then the IHDR chunk (length 13): width, height, bit depth, colour type.
std::string check_png(std::ifstream& in) {
  std::array<unsigned char, 33> b{};
  in.read(reinterpret_cast<char*>(b.data()), b.size());
  if (in.gcount() < static_cast<std::streamsize>(b.size())) return "truncated PNG header";
  if (be32(&b[8]) != 13 || std::string(reinterpret_cast<char*>(&b[12]), 4) != "IHDR") {
    return "PNG without an IHDR chunk first";
  }
  int depth = b[24], colour = b[25];
  bool ok_colour = colour == 0 || colour == 2 || colour == 3 || colour == 4 || colour == 6;
  bool ok_depth = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
  if (!ok_colour || !ok_depth) return fmt::format("PNG with bit depth {} and colour type {}", depth, colour);
  return size_problem(be32(&b[16]), be32(&b[20]));
}

// JPEG: SOI, then marker segments (FF xx, 2-byte big-endian length) until a SOFn frame header
// (C0-CF except C4 DHT, C8 JPG, CC DAC) with height, width at offsets 3 and 5 of its payload.
std::string check_jpeg(std::ifstream& in) {
  in.seekg(2);
  for (int segments = 0; segments < 1000; ++segments) {
    unsigned char m[4];
    in.read(reinterpret_cast<char*>(m), 2);
    if (in.gcount() < 2) return "JPEG ends before its frame header";
    while (m[0] == 0xFF && m[1] == 0xFF) {  // fill bytes
      in.read(reinterpret_cast<char*>(&m[1]), 1);
      if (in.gcount() < 1) return "JPEG ends before its frame header";
    }
    if (m[0] != 0xFF) return "corrupt JPEG marker sequence";
    int marker = m[1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) return "JPEG without a frame header before its scan";
    in.read(reinterpret_cast<char*>(m), 2);
    if (in.gcount() < 2) return "truncated JPEG segment";
    int length = (m[0] << 8) | m[1];
    if (length < 2) return "corrupt JPEG segment length";
    bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      unsigned char f[5];
      in.read(reinterpret_cast<char*>(f), 5);
      if (in.gcount() < 5) return "truncated JPEG frame header";
      return size_problem((f[3] << 8) | f[4], (f[1] << 8) | f[2]);
    }
    in.seekg(length - 2, std::ios::cur);
  }
  return "JPEG with too many segments before its frame header";
}

}  // namespace

std::string check_image(const std::filesystem::path& path, bool decode) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fmt::format("image {} does not exist", path.string());
  if (!std::filesystem::is_regular_file(path, ec)) return fmt::format("image {} is not a file", path.string());
  if (decode) {
    try {
      vision::decode_image_file(path);
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fmt::format("image {} cannot be opened", path.string());
  unsigned char magic[8] = {};
  in.read(reinterpret_cast<char*>(magic), 8);
  std::string problem;
  if (in.gcount() == 8 && std::string(reinterpret_cast<char*>(magic), 8) == "\x89PNG\r\n\x1a\n") {
    in.seekg(0);
    problem = check_png(in);
  } else if (in.gcount() >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) {
    in.clear();
    problem = check_jpeg(in);
  } else {
    problem = in.gcount() == 0 ? "the file is empty" : "not a PNG or JPEG file";
  }
  return problem.empty() ? "" : fmt::format("image {}: {}", path.string(), problem);
}

}  // namespace balcap::data
