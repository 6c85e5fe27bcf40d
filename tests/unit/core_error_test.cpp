#include <gtest/gtest.h>

#include "core/error.h"

TEST(CoreError, FailFormatsTheValueIntoTheMessage) {
  try {
    balcap::fail("config {}: value {} out of range", "a.b", 7);
    FAIL() << "fail() must throw";
  } catch (const balcap::Error& e) {
    EXPECT_STREQ(e.what(), "config a.b: value 7 out of range");
  }
}

TEST(CoreError, UsageErrorIsABalcapError) {
  EXPECT_THROW(balcap::usage_fail("bad flag {}", "--x"), balcap::Error);
}
