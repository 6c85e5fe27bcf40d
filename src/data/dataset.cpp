// read_dataset / load_dataset: one pass over the JSONL file, every problem of a line collected
// (so a user fixes a file in one go), the on_bad_record policy applied at the end.
#include "data/dataset.h"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/log.h"
#include "data/image_check.h"
#include "data/scene.h"
#include "text/utf8.h"

namespace balcap::data {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Reads a list of strings at `key`; problems appended. `required`: a missing key is a problem.
std::vector<std::string> string_list(const json& j, const char* key, bool required,
                                     std::vector<std::string>& problems) {
  std::vector<std::string> out;
  if (!j.contains(key)) {
    if (required) problems.push_back(fmt::format("missing \"{}\" (a list of strings)", key));
    return out;
  }
  const auto& v = j[key];
  if (!v.is_array()) {
    problems.push_back(fmt::format("\"{}\" must be a list of strings, got {}", key, v.type_name()));
    return out;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty()) {
      problems.push_back(fmt::format("\"{}\"[{}] must be a non-empty string, got {}", key, i, v[i].dump()));
    } else {
      out.push_back(v[i].get<std::string>());
    }
  }
  return out;
}

// One qa item; "answer" is the choice's index or its text.
void read_qa_item(const json& q, size_t i, std::vector<QaItem>& out, std::vector<std::string>& problems) {
  std::string where = fmt::format("\"qa\"[{}]", i);
  if (!q.is_object()) {
    problems.push_back(fmt::format("{} must be an object {{\"question\", \"choices\", \"answer\"}}", where));
    return;
  }
  QaItem item;
  size_t before = problems.size();
  if (!q.contains("question") || !q["question"].is_string() || q["question"].get<std::string>().empty()) {
    problems.push_back(where + " needs a non-empty string \"question\"");
  } else {
    item.question = q["question"].get<std::string>();
  }
  if (!q.contains("choices") || !q["choices"].is_array() || q["choices"].size() < 2) {
    problems.push_back(where + " needs \"choices\": a list of at least 2 strings");
  } else {
    for (const auto& c : q["choices"]) {
      if (c.is_string())
        item.choices.push_back(c.get<std::string>());
      else
        problems.push_back(fmt::format("{} choice {} is not a string", where, c.dump()));
    }
  }
  const json answer = q.value("answer", json());
  if (answer.is_number_integer()) {
    item.answer = answer.get<std::int64_t>();
    if (item.answer < 0 || item.answer >= static_cast<std::int64_t>(item.choices.size())) {
      problems.push_back(
          fmt::format("{} \"answer\" {} is not an index into its {} choices", where, item.answer, item.choices.size()));
    }
  } else if (answer.is_string()) {
    auto it = std::find(item.choices.begin(), item.choices.end(), answer.get<std::string>());
    if (it == item.choices.end())
      problems.push_back(fmt::format("{} \"answer\" {} is not one of its choices", where, answer.dump()));
    item.answer = it - item.choices.begin();
  } else {
    problems.push_back(where + " needs \"answer\": the index of the right choice or its text");
  }
  if (problems.size() == before) out.push_back(std::move(item));
}

std::string read_id(const json& j, std::vector<std::string>& problems) {
  if (!j.contains("id")) {
    problems.push_back("missing \"id\"");
  } else if (j["id"].is_string() && !j["id"].get<std::string>().empty()) {
    return j["id"].get<std::string>();
  } else if (j["id"].is_number_integer()) {
    return std::to_string(j["id"].get<std::int64_t>());
  } else {
    problems.push_back(fmt::format("\"id\" must be a non-empty string or an integer, got {}", j["id"].dump()));
  }
  return "";
}

// Parses and checks one line's object into `record`; returns its problems.
std::vector<std::string> read_record(const json& j, const fs::path& base, const LoadOptions& options, Record& record) {
  std::vector<std::string> problems;
  record.id = read_id(j, problems);
  if (!j.contains("image") || !j["image"].is_string() || j["image"].get<std::string>().empty()) {
    problems.push_back("missing \"image\" (a path relative to the JSONL file)");
  } else {
    fs::path image = j["image"].get<std::string>();
    record.image = image.is_absolute() ? image : base / image;
    if (auto problem = check_image(record.image, options.decode_images); !problem.empty()) problems.push_back(problem);
  }
  record.references = string_list(j, "references", true, problems);
  record.claims = string_list(j, "claims", false, problems);
  if (j.contains("qa")) {
    if (!j["qa"].is_array())
      problems.push_back("\"qa\" must be a list of questions");
    else
      for (size_t i = 0; i < j["qa"].size(); ++i) read_qa_item(j["qa"][i], i, record.qa, problems);
  }
  if (j.contains("scene") && !j["scene"].is_null()) {
    try {
      auto scene = scene_from_json(j["scene"]);
      if (scene.questions.size() != record.qa.size()) {
        problems.push_back(fmt::format("\"scene\" has {} qa entries but the record has {} questions",
                                       scene.questions.size(), record.qa.size()));
      }
      record.scene = j["scene"];
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  return problems;
}

// Checks one non-blank line; a bad line -> `bad` filled and false.
bool read_line(const std::string& text, std::int64_t line, const fs::path& base, const LoadOptions& options,
               Record& record, LineProblem& bad) {
  bad = {line, "", {}};
  if (auto at = text::utf8::find_invalid(text)) {
    bad.problems.push_back(fmt::format("invalid UTF-8 at byte {} of the line", *at));
    return false;
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range 406: a number past double's range (1e400)
    bad.problems.push_back(fmt::format("bad JSON: {}", e.what()));
    return false;
  }
  if (!j.is_object()) {
    bad.problems.push_back(fmt::format("a record must be a JSON object, got {}", j.type_name()));
    return false;
  }
  record = Record{};
  record.line = line;
  bad.problems = read_record(j, base, options, record);
  bad.id = record.id;
  return bad.problems.empty();
}

}  // namespace

OnBadRecord parse_on_bad_record(const std::string& value) {
  if (value == "skip") return OnBadRecord::kSkip;
  if (value == "fail") return OnBadRecord::kFail;
  fail("data.on_bad_record is '{}'. HINT: use skip or fail", value);
}

LoadOptions load_options_from(const config::DataConfig& config) {
  LoadOptions o;
  o.on_bad_record = parse_on_bad_record(config.on_bad_record);
  o.max_records = config.max_records;
  o.decode_images = config.image_check == "decode";
  return o;
}

Dataset read_dataset(const fs::path& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  BALCAP_CHECK(in,
               "dataset {}: cannot open the file. HINT: check data.train/data.eval (paths are relative to the "
               "directory balcap runs in)",
               path.string());
  Dataset ds;
  ds.path = path;
  const fs::path base = path.parent_path();
  std::map<std::string, std::int64_t> first_line_of_id;
  std::string text;
  for (std::int64_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are allowed
    if (options.max_records > 0 && static_cast<std::int64_t>(ds.records.size()) >= options.max_records) break;
    ++ds.lines_read;
    Record record;
    LineProblem bad;
    bool good = read_line(text, line, base, options, record, bad);
    if (!record.id.empty()) {
      auto [it, fresh] = first_line_of_id.emplace(record.id, line);
      if (!fresh) {
        bad.problems.push_back(fmt::format("duplicate id '{}' (first on line {})", record.id, it->second));
        good = false;
      }
    }
    if (!good) {
      ds.bad.push_back(std::move(bad));
      continue;
    }
    record.index = static_cast<std::int64_t>(ds.records.size());
    ds.records.push_back(std::move(record));
  }
  return ds;
}

std::string describe(const fs::path& path, const LineProblem& bad) {
  std::string who = bad.id.empty() ? "" : fmt::format(" record '{}':", bad.id);
  std::string what;
  for (const auto& p : bad.problems) what += (what.empty() ? " " : "; ") + p;
  return fmt::format("{}:{}:{}{}", path.string(), bad.line, who, what);
}

std::string validation_report(const Dataset& ds, std::size_t limit) {
  std::string out = fmt::format("{}: {} records read, {} good, {} bad\n", ds.path.string(), ds.lines_read,
                                ds.records.size(), ds.bad.size());
  size_t shown = limit == 0 ? ds.bad.size() : std::min(limit, ds.bad.size());
  for (size_t i = 0; i < shown; ++i) out += describe(ds.path, ds.bad[i]) + "\n";
  if (shown < ds.bad.size()) out += fmt::format("... and {} more bad records\n", ds.bad.size() - shown);
  return out;
}

Dataset load_dataset(const fs::path& path, const LoadOptions& options) {
  Dataset ds = read_dataset(path, options);
  if (!ds.bad.empty() && options.on_bad_record == OnBadRecord::kFail) {
    fail(
        "dataset {} has {} bad record(s) (data.on_bad_record: fail):\n{}HINT: fix the lines listed (`balcap data "
        "check {}` prints this report), or set data.on_bad_record: skip to train on the {} good records",
        path.string(), ds.bad.size(), validation_report(ds, 50), path.string(), ds.records.size());
  }
  for (const auto& bad : ds.bad) spdlog::warn("skipping bad record: {}", describe(path, bad));
  if (!ds.bad.empty()) {
    spdlog::warn("dataset {}: skipped {} bad record(s), kept {}", path.string(), ds.bad.size(), ds.records.size());
  }
  BALCAP_CHECK(!ds.records.empty(),
               "dataset {}: no usable records ({} read, {} bad). HINT: check the file with "
               "`balcap data check {}`",
               path.string(), ds.lines_read, ds.bad.size(), path.string());
  return ds;
}

}  // namespace balcap::data
