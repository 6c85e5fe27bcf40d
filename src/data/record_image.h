#pragma once
// Decoding a record's image during training. Validation at load only checks headers, so an image
// can still fail to decode later (a corrupt body, a file replaced mid-run). Under `skip` the
// record is skipped and counted (the caller takes another record), never fatal; under `fail`
// the error names the record and stops the run. Thread-safe: the data workers share one.
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "data/dataset.h"
#include "data/record.h"
#include "vision/image.h"

namespace balcap::data {

class RecordImageDecoder {
 public:
  explicit RecordImageDecoder(OnBadRecord policy) : policy_(policy) {}

  // The decoded image, or nullopt when it failed under kSkip (logged once per record, counted
  // every time). Under kFail a failure throws balcap::Error naming the record id and line.
  std::optional<vision::Image> decode(const Record& record);

  std::int64_t skipped() const;          // failed decodes, all of them
  std::int64_t skipped_records() const;  // distinct records that failed

 private:
  OnBadRecord policy_;
  mutable std::mutex mutex_;
  std::int64_t skipped_ = 0;
  std::set<std::string> failed_ids_;
};

}  // namespace balcap::data
