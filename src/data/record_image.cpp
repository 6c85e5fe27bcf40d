// RecordImageDecoder: decode_image_file with the on_bad_record policy and a skip counter.
#include "data/record_image.h"

#include "core/error.h"
#include "core/log.h"

namespace balcap::data {

std::optional<vision::Image> RecordImageDecoder::decode(const Record& record) {
  try {
    return vision::decode_image_file(record.image);
  } catch (const Error& e) {
    if (policy_ == OnBadRecord::kFail) {
      fail(
          "record '{}' (line {}): its image no longer decodes: {}\nHINT: fix or remove the record, or set "
          "data.on_bad_record: skip to skip such records",
          record.id, record.line, e.what());
    }
    std::lock_guard lock(mutex_);
    ++skipped_;
    if (failed_ids_.insert(record.id).second) {
      spdlog::warn("skipping record '{}' (line {}): its image does not decode: {}", record.id, record.line, e.what());
    }
    return std::nullopt;
  }
}

std::int64_t RecordImageDecoder::skipped() const {
  std::lock_guard lock(mutex_);
  return skipped_;
}

std::int64_t RecordImageDecoder::skipped_records() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(failed_ids_.size());
}

}  // namespace balcap::data
