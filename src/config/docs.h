#pragma once
// docs/config.md, generated from the same visit() descriptions the parser uses: one table
// per top-level section with every key path, type, default and meaning.
#include <string>

namespace balcap::config {

// docs/config.md: intro plus one table per section (key, type, default, meaning).
std::string config_docs_markdown();

}  // namespace balcap::config
