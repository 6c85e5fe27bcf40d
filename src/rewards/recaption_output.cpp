// OUT.jsonl (resume, append, input order) and OUT.jsonl.errors.jsonl of `balcap recaption`.
#include "rewards/recaption_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "io/atomic_file.h"

namespace balcap::rewards {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  BALCAP_CHECK(in, "recaption output {}: cannot read it to resume. HINT: check its permissions", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The id of one OUT line ("" when the line is not a JSON object with a string or integer id).
std::string line_id(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (!j.is_object() || !j.contains("id")) return "";
    if (j["id"].is_string()) return j["id"].get<std::string>();
    if (j["id"].is_number_integer()) return std::to_string(j["id"].get<std::int64_t>());
  } catch (const json::exception&) {
  }
  return "";
}

// The complete lines of `text` (up to its last '\n'), with their ids; a blank line is skipped.
std::vector<std::pair<std::string, std::string>> complete_lines(const std::string& text, size_t complete_bytes) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t begin = 0; begin < complete_bytes;) {
    const size_t end = text.find('\n', begin);
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string id = line_id(line);
    out.emplace_back(std::move(id), std::move(line));
  }
  return out;
}

void write_fully(int fd, const std::string& bytes, const fs::path& path) {
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    BALCAP_CHECK(n > 0, "recaption output {}: write failed: {}. HINT: check free disk space; a rerun continues",
                 path.string(), std::strerror(errno));
    at += static_cast<size_t>(n);
  }
}

}  // namespace

RecaptionOutput::RecaptionOutput(fs::path path, OrdinalOf ordinal_of)
    : path_(std::move(path)), ordinal_of_(std::move(ordinal_of)) {
  if (fs::exists(path_)) resume();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  BALCAP_CHECK(fd_ >= 0, "recaption output {}: cannot open it for writing: {}. HINT: check that its directory exists "
               "and is writable", path_.string(), std::strerror(errno));
}

RecaptionOutput::~RecaptionOutput() {
  if (fd_ >= 0) ::close(fd_);
}

void RecaptionOutput::check_order(std::int64_t ordinal) {
  if (ordinal < last_ordinal_) out_of_order_ = true;
  last_ordinal_ = std::max(last_ordinal_, ordinal);
}

// Reads the records an earlier run wrote; cuts a truncated last line off the file.
void RecaptionOutput::resume() {
  const std::string text = read_all(path_);
  const size_t last_newline = text.rfind('\n');
  const size_t complete = last_newline == std::string::npos ? 0 : last_newline + 1;
  if (complete < text.size()) {
    spdlog::warn("recaption output {}: dropping a truncated last line ({} bytes; an earlier run stopped mid-write)",
                 path_.string(), text.size() - complete);
    fs::resize_file(path_, complete);
  }
  std::int64_t line_number = 0;
  for (const auto& [id, line] : complete_lines(text, complete)) {
    ++line_number;
    const std::optional<std::int64_t> ordinal = id.empty() ? std::nullopt : ordinal_of_(id);
    BALCAP_CHECK(ordinal.has_value(),
                 "recaption output {}: record {} ({}) is not a record of this input{}. HINT: --out must be the "
                 "output of an earlier `balcap recaption` of the same --data (and --shard) to resume it; pass "
                 "another --out, or remove this file to start over",
                 path_.string(), line_number, id.empty() ? "no id, or not JSON" : "id '" + id + "'",
                 id.empty() ? "" : " (or not of this shard)");
    BALCAP_CHECK(done_.insert(id).second,
                 "recaption output {}: id '{}' appears twice (record {}). HINT: the file was edited or two runs "
                 "wrote it at once; remove the duplicate line, then rerun",
                 path_.string(), id, line_number);
    check_order(*ordinal);
  }
  resumed_ = static_cast<std::int64_t>(done_.size());
  if (resumed_ > 0) {
    spdlog::info("recaption output {}: resuming after {} record(s) already written", path_.string(), resumed_);
  }
}

void RecaptionOutput::append(const std::vector<Line>& lines) {
  std::string bytes;
  for (const Line& line : lines) {
    bytes += line.json;
    bytes += '\n';
  }
  write_fully(fd_, bytes, path_);
  BALCAP_CHECK(::fsync(fd_) == 0, "recaption output {}: fsync failed: {}", path_.string(), std::strerror(errno));
  for (const Line& line : lines) {
    done_.insert(line.id);
    check_order(line.ordinal);
  }
}

void RecaptionOutput::finish() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!out_of_order_) return;
  const std::string text = read_all(path_);
  std::vector<std::pair<std::int64_t, std::string>> lines;
  for (auto& [id, line] : complete_lines(text, text.size())) lines.emplace_back(*ordinal_of_(id), std::move(line));
  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string sorted;
  for (const auto& [ordinal, line] : lines) sorted += line + "\n";
  io::write_file_atomically(path_, sorted);
  out_of_order_ = false;
  spdlog::info("recaption output {}: put back into input order (records retried in this run had been appended "
               "after later ones)", path_.string());
}

RecaptionErrors::RecaptionErrors(fs::path path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "w");
  BALCAP_CHECK(file_ != nullptr, "recaption errors file {}: cannot open it for writing: {}. HINT: check that the "
               "directory of --out is writable", path_.string(), std::strerror(errno));
}

RecaptionErrors::~RecaptionErrors() {
  if (file_) std::fclose(file_);
}

void RecaptionErrors::add(const std::string& id, std::int64_t line, const std::string& image,
                          const std::string& reason) {
  const json entry = {{"id", id}, {"line", line}, {"image", image}, {"reason", reason}};
  const std::string text = entry.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fputs(text.c_str(), file_);
  std::fflush(file_);
}

}  // namespace balcap::rewards
