#pragma once
// Private to src/io: A whole file mapped into memory, read-only from the file's point of view. Pages are mapped
// copy-on-write (MAP_PRIVATE), so a tensor viewing the mapping may be modified in place without
// changing the file; untouched pages cost no memory. Shared via shared_ptr so zero-copy tensors
// keep the mapping alive after the reader that made them is gone.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace balcap::io {

class MappedFile {
 public:
  // Maps `path`; missing/unreadable files -> balcap::Error naming the file. A zero-byte file maps
  // to size() == 0 and data() == nullptr (callers decide whether that is an error).
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::filesystem::path path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace balcap::io
