#pragma once
// Private to src/train: TensorBoard event files written by balcap itself (no TensorFlow / protobuf library): TFRecord
// framing (uint64 length, masked CRC32C of the length, the record, masked CRC32C of the record) around
// hand-encoded tensorflow.Event protos: first {wall_time, file_version: "brain.Event:2"}, then one
// Event {wall_time, step, summary {value {tag, simple_value}}...} per step. `tensorboard --logdir
// RUN_DIR/tensorboard` (and its EventAccumulator) read them.
//
//   TensorBoardWriter tb(run_dir / "tensorboard", resumed ? std::optional<int64_t>(step) : std::nullopt);
//   tb.add_scalars(step, {{"loss", 0.12}, {"reward/coverage/mean", 0.5}}, unix_seconds());
//
// Resume: balcap's earlier event files in the directory are rewritten without the events of steps
// > the resumed step (as metrics.jsonl); a fresh start removes them. New events go to a new file.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace balcap::train {

// CRC-32C (Castagnoli), and TFRecord's mask of it: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

// One TFRecord frame around `record`.
std::string tfrecord_frame(const std::string& record);
// Events (serialized) as encoded here.
std::string encode_file_version_event(double wall_time);
std::string encode_scalars_event(double wall_time, int64_t step,
                                 const std::vector<std::pair<std::string, double>>& scalars);

// Seconds since the Unix epoch (the events' wall_time).
double unix_seconds();

class TensorBoardWriter {
 public:
  TensorBoardWriter(const std::filesystem::path& dir, std::optional<int64_t> resume_step);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One event; values are stored as float32 (simple_value). Flushed at once.
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars, double wall_time);

  const std::filesystem::path& path() const { return path_; }

 private:
  void append(const std::string& event);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace balcap::train
