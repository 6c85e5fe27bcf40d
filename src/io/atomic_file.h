#pragma once
// Writing a file so that readers only ever see the old file or the complete new one: bytes go to a
// temporary file in the same directory, which is fsync'd and renamed over the final name on commit().
// Destroying the writer without commit() removes the temporary file.
#include <cstddef>
#include <filesystem>
#include <string>

namespace balcap::io {

class AtomicFileWriter {
 public:
  // Creates `<path>.tmp.<pid>`; failure -> balcap::Error naming the file.
  explicit AtomicFileWriter(std::filesystem::path path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Appends `size` bytes; a short write (disk full, ...) -> balcap::Error naming the final path.
  void write(const void* data, size_t size);
  // fsync + rename into place.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
};

// Writes `bytes` to `path` through an AtomicFileWriter.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

}  // namespace balcap::io
