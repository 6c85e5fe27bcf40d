#pragma once
// Shared by the text parity tests: the inputs (corpus lines + extra strings, as ref_text.py
// reads them) and the python references it wrote (build/reference/text/*.json).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "support/test_support.h"

namespace balcap::test {

// corpus.txt split on '\n' (the file ends with one), then extra_strings.json.
struct TextInputs {
  std::vector<std::string> texts;
  size_t corpus_lines = 0;
};

inline TextInputs load_text_inputs() {
  TextInputs in;
  std::string corpus = read_file(data_path("text/corpus.txt"));
  size_t start = 0;
  for (size_t nl; (nl = corpus.find('\n', start)) != std::string::npos; start = nl + 1) {
    in.texts.push_back(corpus.substr(start, nl - start));
  }
  in.corpus_lines = in.texts.size();
  for (const auto& s : nlohmann::json::parse(read_file(data_path("text/extra_strings.json")))) {
    in.texts.push_back(s.get<std::string>());
  }
  return in;
}

inline nlohmann::json load_text_reference(const std::string& file) {
  return nlohmann::json::parse(read_file(reference_path("text", file)));
}

// "line 17 (corpus): 'text'" for failure messages.
inline std::string describe_input(const TextInputs& in, size_t i) {
  std::string where = i < in.corpus_lines ? fmt::format("corpus.txt line {}", i + 1)
                                          : fmt::format("extra_strings.json #{}", i - in.corpus_lines);
  return fmt::format("{}: {}", where, nlohmann::json(in.texts[i]).dump());
}

// Expects equal id lists for every input; on failure names the first mismatching input with
// both lists, and how many inputs differ in all.
inline void expect_same_ids(const TextInputs& in, const nlohmann::json& expected_lists,
                            const std::function<std::vector<int32_t>(const std::string&)>& encode) {
  ASSERT_EQ(expected_lists.size(), in.texts.size());
  size_t mismatches = 0;
  std::string first;
  for (size_t i = 0; i < in.texts.size(); ++i) {
    auto expected = expected_lists[i].get<std::vector<int32_t>>();
    auto actual = encode(in.texts[i]);
    if (actual == expected) continue;
    if (mismatches++ == 0) {
      first = fmt::format("{}\n  balcap: [{}]\n  python: [{}]", describe_input(in, i), fmt::join(actual, ", "),
                          fmt::join(expected, ", "));
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << in.texts.size() << " inputs; first: " << first;
}

}  // namespace balcap::test
