// Reading safetensors files written by the python `safetensors` library, and refusing broken ones
// with messages that name the file and the tensor.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <random>

#include "core/error.h"
#include "io/safetensors_reader.h"
#include "support/tensor_bytes.h"
#include "support/test_support.h"

namespace balcap {
namespace {
namespace fs = std::filesystem;
using test::reference_path;
using test::hex_of;
using test::scratch_dir;

std::string torch_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return "other";
  }
}

// A safetensors file from a header JSON text and a data section, for the corrupt-file cases.
fs::path write_raw(const std::string& name, const std::string& header, const std::string& data,
                   std::optional<uint64_t> declared_length = std::nullopt) {
  const fs::path path = scratch_dir() / name;
  const uint64_t len = declared_length.value_or(header.size());
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  test::write_file(path, bytes + header + data);
  return path;
}

// Expects opening `path` to throw a balcap::Error whose message contains every `needle`.
void expect_open_fails(const fs::path& path, const std::vector<std::string>& needles) {
  try {
    io::SafetensorsFile file(path);
    ADD_FAILURE() << "opening " << path << " should have failed";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& needle : needles) EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_NE(message.find("HINT"), std::string::npos) << message;
  }
}

TEST(SafetensorsReader, EveryDtypeMatchesWhatPythonSafetensorsWrote) {
  const nlohmann::json expected = nlohmann::json::parse(test::read_file(reference_path("io", "dtypes.json")));
  io::SafetensorsFile file(reference_path("io", "dtypes.safetensors"));
  ASSERT_EQ(file.names().size(), expected["tensors"].size());
  for (const auto& [name, want] : expected["tensors"].items()) {
    SCOPED_TRACE(name);
    const at::Tensor t = file.tensor(name);
    EXPECT_EQ(torch_name(t.scalar_type()), want["dtype"].get<std::string>());
    EXPECT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(hex_of(t), want["hex"].get<std::string>());  // bit-exact, NaN/inf/-0 included
    if (!want.contains("values")) continue;
    const at::Tensor flat = t.reshape(-1);
    ASSERT_EQ(size_t(flat.numel()), want["values"].size());
    for (int64_t i = 0; i < flat.numel(); ++i) {
      if (t.is_floating_point()) {
        EXPECT_EQ(flat[i].item<double>(), want["values"][i].get<double>()) << "element " << i;
      } else {
        EXPECT_EQ(flat[i].item<int64_t>(), want["values"][i].get<int64_t>()) << "element " << i;
      }
    }
  }
}

TEST(SafetensorsReader, MetadataIsKept) {
  io::SafetensorsFile file(reference_path("io", "dtypes.safetensors"));
  EXPECT_EQ(file.metadata().at("source"), "ref_io");
  EXPECT_EQ(file.metadata().at("format"), "pt");
}

TEST(SafetensorsReader, TensorsViewTheMappingWithoutCopyingAndOutliveTheReader) {
  at::Tensor t;
  {
    io::SafetensorsFile file(reference_path("io", "dtypes.safetensors"));
    t = file.tensor("f32.matrix");
    const at::Tensor again = file.tensor("f32.matrix");
    EXPECT_EQ(t.data_ptr(), again.data_ptr());  // both point into the one mapping
  }
  const nlohmann::json expected = nlohmann::json::parse(test::read_file(reference_path("io", "dtypes.json")));
  EXPECT_EQ(hex_of(t), expected["tensors"]["f32.matrix"]["hex"].get<std::string>());
  t.add_(1.0f);  // copy-on-write: allowed, and the file is unchanged
  io::SafetensorsFile reopened(reference_path("io", "dtypes.safetensors"));
  EXPECT_EQ(hex_of(reopened.tensor("f32.matrix")), expected["tensors"]["f32.matrix"]["hex"].get<std::string>());
}

TEST(SafetensorsReader, MisalignedTensorIsCopiedWithTheRightValues) {
  // Header of 7 bytes of JSON padding is not a multiple of 4: the F32 data starts misaligned.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append((8 - header.size() % 8) % 8 + 1, ' ');
  const float values[2] = {1.5f, -2.25f};
  const fs::path path = write_raw("misaligned.safetensors", header, std::string(reinterpret_cast<const char*>(values), 8));
  io::SafetensorsFile file(path);
  const at::Tensor t = file.tensor("x");
  EXPECT_EQ(t[0].item<float>(), 1.5f);
  EXPECT_EQ(t[1].item<float>(), -2.25f);
}

TEST(SafetensorsReader, UnknownTensorNameNamesTheFileAndTensor) {
  io::SafetensorsFile file(reference_path("io", "dtypes.safetensors"));
  try {
    file.tensor("no.such.weight");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no.such.weight"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("dtypes.safetensors"), std::string::npos);
  }
}

TEST(SafetensorsReader, TruncatedFileNamesTheFileTheTensorAndTheSizes) {
  const std::string good = test::read_file(reference_path("io", "dtypes.safetensors"));
  const fs::path path = scratch_dir() / "truncated.safetensors";
  test::write_file(path, good.substr(0, good.size() - 10));
  expect_open_fails(path, {"truncated.safetensors", "looks truncated", std::to_string(good.size() - 10),
                           std::to_string(good.size())});
}

TEST(SafetensorsReader, ZeroByteFileIsRefusedNamingTheFile) {
  const fs::path path = scratch_dir() / "empty.safetensors";
  test::write_file(path, "");
  expect_open_fails(path, {"empty.safetensors", "0 bytes"});
}

TEST(SafetensorsReader, HeaderLengthBeyondTheFileIsRefused) {
  const fs::path path = write_raw("long_header.safetensors", "{}", "", 5000);
  expect_open_fails(path, {"long_header.safetensors", "5000", "truncated"});
}

TEST(SafetensorsReader, HugeHeaderLengthIsRefusedBeforeReading) {
  const fs::path path = write_raw("huge_header.safetensors", "{}", "", uint64_t(1) << 40);
  expect_open_fails(path, {"huge_header.safetensors", "limit"});
}

TEST(SafetensorsReader, OffsetsOutsideTheFileNameTheTensor) {
  const fs::path path = write_raw("outside.safetensors",
                                  R"({"w.out":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", std::string(16, '\0'));
  expect_open_fails(path, {"outside.safetensors", "w.out", "truncated"});
}

TEST(SafetensorsReader, OffsetsInconsistentWithDtypeAndShapeNameTheTensor) {
  const fs::path path = write_raw("size.safetensors",
                                  R"({"w.size":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'));
  expect_open_fails(path, {"size.safetensors", "w.size", "needs 12 bytes"});
}

TEST(SafetensorsReader, OverlappingTensorsAreRefusedNamingBoth) {
  const fs::path path = write_raw(
      "overlap.safetensors",
      R"({"a.first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b.second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      std::string(12, '\0'));
  expect_open_fails(path, {"overlap.safetensors", "a.first", "b.second", "overlap"});
}

TEST(SafetensorsReader, DuplicateTensorNamesAreRefused) {
  const fs::path path = write_raw(
      "duplicate.safetensors",
      R"({"w.dup":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w.dup":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
      std::string(2, '\0'));
  expect_open_fails(path, {"duplicate.safetensors", "w.dup", "twice"});
}

TEST(SafetensorsReader, UnknownDtypeNamesTheTensorAndListsSupportedOnes) {
  const fs::path path = write_raw("fp8.safetensors",
                                  R"({"w.fp8":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", std::string(2, '\0'));
  expect_open_fails(path, {"fp8.safetensors", "w.fp8", "F8_E4M3", "BF16"});
}

TEST(SafetensorsReader, NonJsonHeaderIsRefusedNamingTheFile) {
  const fs::path path = write_raw("garbage.safetensors", "PK\x03\x04 not json at all", "");
  expect_open_fails(path, {"garbage.safetensors", "not valid JSON"});
}

TEST(SafetensorsReader, MissingFileNamesThePath) {
  expect_open_fails(scratch_dir() / "absent.safetensors", {"absent.safetensors", "not found"});
}

// Opens `path` and reads every tensor; true when that worked, false on a balcap::Error. Any other
// exception (or a crash) fails the test.
bool opens_or_refuses_cleanly(const fs::path& path) {
  try {
    io::SafetensorsFile file(path);
    for (const auto& name : file.names()) (void)file.tensor(name).sum();
    return true;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos) << e.what();
    return false;
  }
}

TEST(SafetensorsReader, TruncationsOfAValidFileAreRefusedNotCrashed) {
  const std::string good = test::read_file(reference_path("io", "dtypes.safetensors"));
  const fs::path path = scratch_dir() / "cut.safetensors";
  // Every size in the length prefix and the last bytes of the data, every 7th size in between.
  for (size_t size = 0; size < good.size(); size += (size < 16 || size + 16 >= good.size()) ? 1 : 7) {
    test::write_file(path, good.substr(0, size));
    EXPECT_FALSE(opens_or_refuses_cleanly(path)) << "a file cut to " << size << " bytes was accepted";
  }
}

TEST(SafetensorsReader, RandomlyCorruptedHeadersGiveAnErrorOrValidTensorsNeverACrash) {
  const std::string good = test::read_file(reference_path("io", "dtypes.safetensors"));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(good[i]);
  const fs::path path = scratch_dir() / "corrupt.safetensors";
  std::mt19937 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    std::string bad = good;
    const int flips = 1 + trial % 3;
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng() % (8 + header_len);
      bad[at] = static_cast<char>(rng() % 256);
    }
    test::write_file(path, bad);
    opens_or_refuses_cleanly(path);
  }
}

}  // namespace
}  // namespace balcap
