#pragma once
// What the harnesses share: the accepted-outcome wrapper of the contract in harnesses.h, a scratch
// directory for the parsers that only read paths, quiet logs, and where the test data lives.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"
#include "harnesses.h"

namespace balcap::fuzz {

// Runs body(): true when it returned, false when it refused the input with balcap::Error (the
// accepted outcome). Every other exception propagates to libFuzzer / the regression test.
template <class Body>
bool accepted(Body&& body) {
  try {
    body();
    return true;
  } catch (const Error&) {
    return false;
  }
}

// The pixel bound of every image a harness decodes (vision::decode_image_bytes' max_pixels). balcap
// accepts Pillow's 179 M pixels, which a 100-byte JPEG header can declare: decoding that is
// legitimate but costs ~0.5-0.7 GB and seconds, past the fuzz limits (1 GB, 1 s). With 2^20 pixels
// (1024 x 1024) a larger header takes the decompression-bomb refusal instead, and every accepted
// image is decoded and processed within the limits.
inline constexpr int64_t kFuzzMaxPixels = int64_t{1} << 20;

// The bytes as text (UTF-8 or not: the parsers must cope with both).
inline std::string_view as_text(Bytes input) {
  return {reinterpret_cast<const char*>(input.data()), input.size()};
}

// A directory private to this process under the system temp directory (TMPDIR), removed at exit.
const std::filesystem::path& scratch_dir();
// Writes `bytes` to scratch_dir() / name (replacing it) and returns that path.
std::filesystem::path write_scratch(const std::string& name, std::string_view bytes);

// tests/data of this checkout (the vocabularies, images and processor configs the harnesses load).
std::filesystem::path test_data_dir();

// balcap's logs off (a harness would otherwise print a warning per bad record, thousands a second).
// Call at the start of every harness; only the first call does anything.
void quiet_logs();

}  // namespace balcap::fuzz
