#pragma once
// The message of the exception of type E (balcap::Error by default) that `body` throws; fails the
// test when it returns or throws anything else. For tests of bad input: the message is what they check.
#include <gtest/gtest.h>

#include <string>
#include <typeinfo>

#include "core/error.h"

namespace balcap::test {

template <class E = Error, class Fn>
std::string error_of(Fn&& body) {
  try {
    body();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a " << typeid(E).name() << " exception";
  return "";
}

}  // namespace balcap::test
