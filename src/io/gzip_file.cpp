// read_maybe_gzipped: zlib's gz* reader also passes plain files through unchanged.
#include "io/gzip_file.h"

#include <zlib.h>

#include <array>

#include "core/error.h"

namespace balcap::io {

std::string read_maybe_gzipped(const std::filesystem::path& path) {
  BALCAP_CHECK(std::filesystem::is_regular_file(path), "{}: no such file. HINT: check the path.", path.string());
  gzFile file = gzopen(path.c_str(), "rb");
  BALCAP_CHECK(file != nullptr, "{}: cannot open for reading. HINT: check permissions.", path.string());
  std::string out;
  std::array<char, 1 << 16> buffer;
  int n = 0;
  while ((n = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) out.append(buffer.data(), n);
  int code = Z_OK;
  const char* message = n < 0 ? gzerror(file, &code) : nullptr;
  const std::string reason = message ? message : "";
  gzclose(file);
  BALCAP_CHECK(n >= 0, "{}: corrupt or truncated gzip data ({}). HINT: re-copy the file.", path.string(), reason);
  return out;
}

}  // namespace balcap::io
