// Bad image files: every one is a balcap::Error that names the file, says what is wrong and
// gives a HINT; none crashes or aborts the process.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "core/error.h"
#include "vision/image.h"
#include "support/test_support.h"

namespace balcap {
namespace {

namespace fs = std::filesystem;

// Decodes `path`, expecting an error whose message contains the path and `what`.
void expect_error(const fs::path& path, const std::string& what) {
  try {
    vision::decode_image_file(path);
    FAIL() << "expected an error for " << path;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
    EXPECT_NE(message.find("HINT"), std::string::npos) << message;
  }
}

fs::path write_scratch(const std::string& name, const std::string& bytes) {
  const fs::path path = test::scratch_dir() / name;
  test::write_file(path, bytes);
  return path;
}

std::string chelsea_png() { return test::read_file(test::data_path("images/chelsea.png")); }

TEST(VisionDecodeErrors, TruncatedJpegNamesTheFileAndSaysTruncated) {
  expect_error(test::data_path("images/truncated.jpg"), "truncated");
}

TEST(VisionDecodeErrors, JpegMissingOnlyItsEndMarkerIsTruncatedAsInPil) {
  const std::string bytes = test::read_file(test::data_path("images/rocket.jpg"));
  expect_error(write_scratch("no_eoi.jpg", bytes.substr(0, bytes.size() - 2)), "truncated");
}

TEST(VisionDecodeErrors, ZeroByteFileIsReportedAsEmpty) { expect_error(write_scratch("empty.jpg", ""), "empty"); }

TEST(VisionDecodeErrors, RandomBytesAreNotAnImage) {
  std::string bytes(4096, '\0');
  uint32_t state = 12345;
  for (char& c : bytes) c = char((state = state * 1103515245 + 12345) >> 24);
  bytes[0] = 'x';
  expect_error(write_scratch("noise.jpg", bytes), "not a PNG or JPEG");
}

TEST(VisionDecodeErrors, TextFileNamedPngIsDetectedByContentNotExtension) {
  expect_error(write_scratch("notes.png", "this is a caption, not an image\n"), "not a PNG or JPEG");
}

TEST(VisionDecodeErrors, PngWithCorruptIdatCrcIsAnError) {
  std::string bytes = chelsea_png();
  const size_t idat = bytes.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  bytes[idat + 100] ^= 0x5a;  // inside the first IDAT's data: its CRC no longer matches
  expect_error(write_scratch("bad_crc.png", bytes), "cannot decode PNG");
}

TEST(VisionDecodeErrors, PngCutInsideIdatIsReportedAsTruncated) {
  const std::string bytes = chelsea_png();
  expect_error(write_scratch("cut.png", bytes.substr(0, bytes.size() / 2)), "truncated");
}

TEST(VisionDecodeErrors, PngMissingOnlyIendStillDecodesAsInPil) {
  const std::string bytes = chelsea_png();
  const vision::Image image = vision::decode_image_file(write_scratch("no_iend.png", bytes.substr(0, bytes.size() - 12)));
  EXPECT_EQ(image.width, 451);
  EXPECT_EQ(image.height, 300);
}

TEST(VisionDecodeErrors, BareSignaturesAreErrors) {
  expect_error(write_scratch("sig.png", std::string("\x89PNG\r\n\x1a\n", 8)), "cannot decode PNG");
  expect_error(write_scratch("sig.jpg", std::string("\xFF\xD8\xFF", 3)), "cannot decode JPEG");
}

TEST(VisionDecodeErrors, UnsupportedFormatsAreNamed) {
  expect_error(write_scratch("anim.png", "GIF89a\x01\x00\x01\x00"), "GIF images are not supported");
}

TEST(VisionDecodeErrors, MissingFileAndDirectoryCannotBeOpened) {
  expect_error(test::scratch_dir() / "nope.jpg", "cannot open");
  expect_error(test::scratch_dir(), "cannot open");
}

// A valid PNG signature + IHDR claiming 20000x20000 (4e8 pixels): refused before the pixels are
// allocated or decoded.
TEST(VisionDecodeErrors, DecompressionBombIsRefusedWithTheLimit) {
  auto be32 = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  const std::string ihdr = "IHDR" + be32(20000) + be32(20000) + std::string("\x08\x02\x00\x00\x00", 5);
  const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), uInt(ihdr.size())));
  // An IDAT chunk header follows, as in a real file, so the header is read completely.
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + ihdr + be32(crc) + be32(16) + "IDAT";
  expect_error(write_scratch("bomb.png", png), "exceeds the limit of 178956970 pixels");
}

TEST(VisionDecodeErrors, CorruptJpegEntropyDataNeverCrashes) {
  std::string bytes = test::read_file(test::data_path("images/rocket.jpg"));
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = char(0xA5);
  const fs::path path = write_scratch("scribbled.jpg", bytes);
  try {
    const vision::Image image = vision::decode_image_file(path);  // libjpeg resyncs, as PIL does
    EXPECT_EQ(image.width, 640);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }
}

}  // namespace
}  // namespace balcap
