// One libFuzzer binary per harness: compiled once per name with -DBALCAP_FUZZ_HARNESS=<name>
// (fuzz/CMakeLists.txt), so bin/fuzz_<name> calls balcap::fuzz::<name>() on every input.
#include "harnesses.h"

// Runs the harness once on an empty input before fuzzing starts, so what it loads once (the Qwen
// vocabulary, ~10 s under ASan; the image processors; the judge's loopback server) is loaded
// outside the 1 s per-input timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return balcap::fuzz::BALCAP_FUZZ_HARNESS(balcap::fuzz::Bytes());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return balcap::fuzz::BALCAP_FUZZ_HARNESS(balcap::fuzz::Bytes(data, size));
}
