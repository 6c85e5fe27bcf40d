#pragma once
// balcap's error types. User-facing failures (bad files, bad config, bad arguments) throw
// balcap::Error with a message that names the file/key/value and a HINT on what to do;
// `main` catches once and prints one line. Invariants use TORCH_INTERNAL_ASSERT.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace balcap {

// A failure caused by input the user controls (a file, a config key, a value).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Wrong command-line usage: the CLI exits with code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// fail("safetensors {}: tensor '{}' ...", path, name): throw balcap::Error with a formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void usage_fail(fmt::format_string<Args...> format, Args&&... args) {
  throw UsageError(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace balcap

// BALCAP_CHECK(cond, "fmt", args...): throw balcap::Error when a user-input condition fails.
#define BALCAP_CHECK(cond, ...)     \
  do {                              \
    if (!(cond)) {                  \
      ::balcap::fail(__VA_ARGS__);  \
    }                               \
  } while (0)
