#include "train/tensorboard_writer.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"

namespace balcap::train {

namespace fs = std::filesystem;

namespace {

// ---- protobuf wire format (only what Event / Summary need) ----
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += char(v);
}
template <class T>
void put_fixed(std::string& out, T v) {  // little-endian (x86/ARM hosts)
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}
void put_key(std::string& out, int field, int wire_type) { put_varint(out, (uint64_t(field) << 3) | wire_type); }
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

// Event.step (field 2) of a serialized Event, 0 when absent; nullopt when it does not parse.
std::optional<int64_t> event_step(const std::string& e) {
  size_t i = 0;
  const auto varint = [&](uint64_t& v) {
    v = 0;
    for (int shift = 0; i < e.size() && shift < 64; shift += 7) {
      const auto b = uint8_t(e[i++]);
      v |= uint64_t(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  int64_t step = 0;
  while (i < e.size()) {
    uint64_t key = 0, v = 0;
    if (!varint(key)) return std::nullopt;
    switch (key & 7) {
      case 0:
        if (!varint(v)) return std::nullopt;
        if ((key >> 3) == 2) step = int64_t(v);
        break;
      case 1:
        i += 8;
        break;
      case 5:
        i += 4;
        break;
      case 2:
        if (!varint(v)) return std::nullopt;
        i += v;
        break;
      default:
        return std::nullopt;
    }
    if (i > e.size()) return std::nullopt;
  }
  return step;
}

// The records of a TFRecord file, stopping at the first torn or corrupt frame.
std::vector<std::string> read_records(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  std::vector<std::string> out;
  size_t i = 0;
  while (i + 12 <= data.size()) {
    uint64_t len;
    uint32_t len_crc, rec_crc;
    std::memcpy(&len, data.data() + i, 8);
    std::memcpy(&len_crc, data.data() + i + 8, 4);
    if (len_crc != masked_crc32c(data.data() + i, 8) || i + 12 + len + 4 > data.size()) break;
    std::memcpy(&rec_crc, data.data() + i + 12 + len, 4);
    if (rec_crc != masked_crc32c(data.data() + i + 12, len)) break;
    out.push_back(data.substr(i + 12, len));
    i += 12 + len + 4;
  }
  return out;
}

bool is_balcap_event_file(const fs::path& p) {
  const auto name = p.filename().string();
  return name.rfind("events.out.tfevents.", 0) == 0 && name.size() > 7 && name.substr(name.size() - 7) == ".balcap";
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;  // reflected Castagnoli
      t[n] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string tfrecord_frame(const std::string& record) {
  std::string out;
  const uint64_t len = record.size();
  put_fixed(out, len);
  put_fixed(out, masked_crc32c(out.data(), 8));
  out += record;
  put_fixed(out, masked_crc32c(record.data(), record.size()));
  return out;
}

std::string encode_file_version_event(double wall_time) {
  std::string e;
  put_key(e, 1, 1);  // Event.wall_time: double
  put_fixed(e, wall_time);
  put_bytes(e, 3, "brain.Event:2");  // Event.file_version
  return e;
}

std::string encode_scalars_event(double wall_time, int64_t step,
                                 const std::vector<std::pair<std::string, double>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);  // Summary.Value.tag
    put_key(v, 2, 5);      // Summary.Value.simple_value: float
    put_fixed(v, static_cast<float>(value));
    put_bytes(summary, 1, v);  // Summary.value (repeated)
  }
  std::string e;
  put_key(e, 1, 1);
  put_fixed(e, wall_time);
  put_key(e, 2, 0);  // Event.step: int64 varint (two's complement for negatives)
  put_varint(e, static_cast<uint64_t>(step));
  put_bytes(e, 5, summary);  // Event.summary
  return e;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TensorBoardWriter::TensorBoardWriter(const fs::path& dir, std::optional<int64_t> resume_step) {
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || !is_balcap_event_file(entry.path())) continue;
    if (!resume_step) {
      fs::remove(entry.path());
      continue;
    }
    std::string kept;
    for (const auto& record : read_records(entry.path())) {
      const auto step = event_step(record);
      if (step && *step <= *resume_step) kept += tfrecord_frame(record);
    }
    io::write_file_atomically(entry.path(), kept);
  }
  const double now = unix_seconds();
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  // TensorBoard orders files by name: a zero-padded time keeps a resumed run's file after the old ones.
  path_ = dir / fmt::format("events.out.tfevents.{:012d}.{}.{}.balcap", static_cast<int64_t>(now), host, ::getpid());
  file_ = std::fopen(path_.c_str(), "ab");
  BALCAP_CHECK(file_ != nullptr, "{}: cannot create: {}. HINT: check that the run directory is writable",
               path_.string(), std::strerror(errno));
  append(encode_file_version_event(now));
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars,
                                    double wall_time) {
  append(encode_scalars_event(wall_time, step, scalars));
}

void TensorBoardWriter::append(const std::string& event) {
  const auto frame = tfrecord_frame(event);
  const bool ok = std::fwrite(frame.data(), 1, frame.size(), file_) == frame.size() && std::fflush(file_) == 0;
  BALCAP_CHECK(ok, "{}: writing failed: {}. HINT: check free disk space", path_.string(), std::strerror(errno));
}

}  // namespace balcap::train
