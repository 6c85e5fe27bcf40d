#pragma once
// Private to src/data: check_image: cheap load-time validation of a record's image (read_dataset runs it on every
// record): only the bytes up to the frame header are read, so validating a large dataset does
// not decode every image.
#include <filesystem>
#include <string>

namespace balcap::data {

// Checks that `path` exists and holds a PNG or JPEG whose header decodes (PNG: signature and
// IHDR; JPEG: SOI and a frame header) with a size within kMaxImagePixels; with `decode` the
// whole image is decoded. Returns "" when fine, else what is wrong (for a validation message).
std::string check_image(const std::filesystem::path& path, bool decode);

}  // namespace balcap::data
