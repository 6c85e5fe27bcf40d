#pragma once
// Private to src/config: the problems found while loading one config, and where each key
// was set (so validation errors can name the YAML line or the --set argument).
#include <map>
#include <string>
#include <vector>

namespace balcap::config::detail {

struct Diagnostics {
  std::string source;                            // file name (or text source) for the headline
  std::vector<std::string> problems;             // one line each, already located
  std::map<std::string, std::string> locations;  // key path -> "file:12" or "--set a.b=c"

  void add(const std::string& where, const std::string& what) {
    problems.push_back(where.empty() ? what : where + ": " + what);
  }
  // Where `path` (or its nearest ancestor) was set; "" when it holds the default.
  std::string location_of(std::string path) const;
  // Throws balcap::Error listing every problem, when there is any.
  void throw_if_any() const;
};

// Closest candidate to `word` by edit distance, or "" when none is plausibly meant.
std::string closest_key(const std::string& word, const std::vector<std::string>& candidates);

// "unknown key 'K' ..." for the full key K: what became of it when balcap renamed or removed it,
// else "did you mean" the closest known key (`closest_full_key`, "" for none).
std::string unknown_key_message(const std::string& full_key, const std::string& closest_full_key);

}  // namespace balcap::config::detail
