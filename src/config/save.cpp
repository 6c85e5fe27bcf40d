// save_config: the resolved config written into the run directory (docs/architecture.md §10).
#include "config/save.h"

#include <fstream>

#include "config/yaml_writer.h"
#include "core/error.h"

namespace balcap::config {

void save_config(const Config& config, const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  if (ec)
    fail("config {}: cannot create the directory: {}\nHINT: check the run directory is writable.", file.string(),
         ec.message());
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << "# Resolved balcap config (every key). Load it with --config.\n" << to_yaml(config);
    out.flush();
    if (!out) fail("config {}: cannot write {}\nHINT: check free space and permissions.", file.string(), tmp.string());
  }
  fs::rename(tmp, file, ec);
  if (ec)
    fail("config {}: cannot rename {} into place: {}\nHINT: check permissions.", file.string(), tmp.string(),
         ec.message());
}

}  // namespace balcap::config
