#pragma once
// Whole-file reads that accept gzip: the test data stores large JSON (the Qwen tokenizer.json,
// 11 MB) as .gz, and model directories made from it need the plain file.
#include <filesystem>
#include <string>

namespace balcap::io {

// The bytes of `path`, decompressed when it is gzip (magic 1f 8b), else as stored.
// Missing, unreadable or corrupt input -> balcap::Error naming the file.
std::string read_maybe_gzipped(const std::filesystem::path& path);

}  // namespace balcap::io
