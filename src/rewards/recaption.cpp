// recaption (rewards/recaption.h): the input read and sharded once, then batches of pending records
// captioned by a Judge (local vision judge or remote chat judge) and appended to OUT.
#include "rewards/recaption.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "config/judge.h"
#include "core/error.h"
#include "core/log.h"
#include "data/dataset.h"
#include "rewards/judge.h"
#include "rewards/judge_factories.h"
#include "rewards/openai_endpoint.h"
#include "rewards/recaption_output.h"
#include "vision/image.h"

namespace balcap::rewards {
namespace {

using ordered_json = nlohmann::ordered_json;  // output records keep the input's key order
namespace fs = std::filesystem;

bool is_endpoint(const std::string& model) { return model.rfind("http://", 0) == 0 || model.rfind("https://", 0) == 0; }

void check_options(const RecaptionOptions& o) {
  BALCAP_CHECK(!o.model.empty(), "recaption: --model is empty. HINT: give a Qwen2.5-VL / LLaVA-1.5 checkpoint "
               "directory or an http(s):// OpenAI-compatible endpoint (e.g. http://host:8000/v1)");
  BALCAP_CHECK(o.batch >= 1 && o.max_new_tokens >= 1 && o.concurrency >= 1,
               "recaption: --batch {}, --max-new-tokens {} and --concurrency {} must each be at least 1", o.batch,
               o.max_new_tokens, o.concurrency);
  BALCAP_CHECK(o.shard_count >= 1 && o.shard_index >= 0 && o.shard_index < o.shard_count,
               "recaption: shard {}/{} does not exist. HINT: --shard i/n with 0 <= i < n", o.shard_index,
               o.shard_count);
  BALCAP_CHECK(fs::is_regular_file(o.data), "recaption: --data {} is not a file. HINT: give the dataset JSONL "
               "(docs/data.md); a relative path is relative to the directory balcap runs in", o.data.string());
  BALCAP_CHECK(fs::absolute(o.data).lexically_normal() != fs::absolute(o.out).lexically_normal(),
               "recaption: --out {} is the input file. HINT: write the recaptioned records to another file",
               o.out.string());
  BALCAP_CHECK(o.api_key_env.empty() || (std::getenv(o.api_key_env.c_str()) && *std::getenv(o.api_key_env.c_str())),
               "recaption: --api-key-env names {}, which is not set or empty. HINT: export {}=<your key> first",
               o.api_key_env, o.api_key_env);
}

// One non-blank input line of this shard: a good record (index into Dataset::records) or a bad line.
struct Item {
  std::int64_t ordinal = 0, line = 0;
  std::string id;
  std::int64_t record = -1;  // -1: a bad line
  std::string problem;       // why the line is bad
};

struct Input {
  data::Dataset dataset;
  std::vector<Item> items;                                  // this shard's, in input order
  std::unordered_map<std::string, std::int64_t> ordinal;    // id of a good record of the shard -> ordinal
  std::unordered_map<std::int64_t, std::string> text;       // line of a good record -> its JSON text
};

// Every non-blank line in file order, then this shard's contiguous block of them.
std::vector<Item> shard_items(const data::Dataset& ds, const RecaptionOptions& o) {
  std::vector<Item> all;
  for (size_t i = 0; i < ds.records.size(); ++i) {
    all.push_back({0, ds.records[i].line, ds.records[i].id, static_cast<std::int64_t>(i), ""});
  }
  for (const data::LineProblem& bad : ds.bad) {
    std::string problem;
    for (const std::string& p : bad.problems) problem += (problem.empty() ? "" : "; ") + p;
    all.push_back({0, bad.line, bad.id, -1, problem});
  }
  std::sort(all.begin(), all.end(), [](const Item& a, const Item& b) { return a.line < b.line; });
  const auto n = static_cast<std::int64_t>(all.size());
  const std::int64_t begin = n * o.shard_index / o.shard_count, end = n * (o.shard_index + 1) / o.shard_count;
  std::vector<Item> out;
  for (std::int64_t i = begin; i < end; ++i) {
    out.push_back(std::move(all[static_cast<size_t>(i)]));
    out.back().ordinal = i;
  }
  return out;
}

Input read_input(const RecaptionOptions& o) {
  Input in;
  in.dataset = data::read_dataset(o.data, {data::OnBadRecord::kSkip, 0, /*decode_images=*/false});
  in.items = shard_items(in.dataset, o);
  for (const Item& item : in.items) {
    if (item.record >= 0) in.ordinal.emplace(item.id, item.ordinal);
    if (item.record >= 0) in.text.emplace(item.line, "");
  }
  std::ifstream file(o.data, std::ios::binary);
  std::string text;
  for (std::int64_t line = 1; std::getline(file, text); ++line) {
    auto it = in.text.find(line);
    if (it == in.text.end()) continue;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    it->second = std::move(text);
  }
  return in;
}

std::unique_ptr<Judge> make_judge(const RecaptionOptions& o) {
  config::JudgeConfig c;
  c.batch_size = o.batch;
  c.max_new_tokens = o.max_new_tokens;
  if (is_endpoint(o.model)) {
    c.kind = "remote";
    c.url = o.model;
    c.api = "chat";
    c.vision = true;
    c.model_name = o.model_name;
    c.api_key_env = o.api_key_env;
    c.concurrency = o.concurrency;
    c.timeout_s = o.timeout_s;
    c.total_timeout_s = std::max(o.total_timeout_s, o.timeout_s);
    c.max_retries = o.max_retries;
    c.cache = false;  // every request is asked once
    return make_remote_judge("recaption", c);
  }
  c.kind = "local";
  c.model = o.model;
  c.device = o.device;
  c.dtype = o.dtype;
  const at::Device auto_device = at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  std::unique_ptr<Judge> judge = make_local_judge("recaption", c, auto_device);
  BALCAP_CHECK(judge->sees_images(), "recaption: --model {} is a text-only checkpoint. HINT: use a multimodal one "
               "(Qwen2.5-VL or LLaVA-1.5), or an http(s):// endpoint serving one", o.model);
  return judge;
}

// The record's instruction (recaption.h): --prompt, its own "prompt" without <image> tags, the default.
std::string prompt_of(const ordered_json& record, const RecaptionOptions& o) {
  if (o.prompt) return *o.prompt;
  if (!record.contains("prompt") || !record["prompt"].is_string()) return kShareCaptionerPrompt;
  std::string prompt = record["prompt"].get<std::string>();
  for (size_t at; (at = prompt.find("<image>")) != std::string::npos;) prompt.erase(at, 7);
  const size_t b = prompt.find_first_not_of(" \t\r\n"), e = prompt.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? kShareCaptionerPrompt : prompt.substr(b, e - b + 1);
}

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// An error's text without its "\nHINT:" lines: the judge's hints name rewards.judges.* keys, which
// recaption sets from its own options (its stop message gives the hint).
std::string without_hint(const std::string& text) { return text.substr(0, text.find("\nHINT:")); }

// A record's caption, or why there is none (model_failed: the model/endpoint failed, not the record).
struct Outcome {
  std::string caption, error;
  bool model_failed = false;
};

// Captions for a batch of requests, one outcome each. A remote judge gets one request per record,
// `concurrency` at a time (a failure stays that record's); a local judge the whole batch in one call,
// record by record only when the batch fails (to find which record it was).
std::vector<Outcome> caption_batch(Judge& judge, bool remote, const std::vector<JudgeRequest>& requests,
                                   const RecaptionOptions& o) {
  std::vector<Outcome> out(requests.size());
  auto one = [&](size_t i) {
    try {
      out[i].caption = judge.generate({requests[i]}, o.max_new_tokens).at(0);
    } catch (const std::exception& e) {
      out[i].error = without_hint(e.what());
      out[i].model_failed = true;
    }
  };
  if (remote) {
    parallel_for(static_cast<std::int64_t>(requests.size()), o.concurrency, [&](std::int64_t i) { one(i); });
  } else {
    try {
      const std::vector<std::string> texts = judge.generate(requests, o.max_new_tokens);
      for (size_t i = 0; i < texts.size(); ++i) out[i].caption = texts[i];
    } catch (const std::exception& e) {
      spdlog::warn("recaption: a batch of {} failed ({}); captioning its records one by one", requests.size(),
                   without_hint(e.what()));
      for (size_t i = 0; i < requests.size(); ++i) one(i);
    }
  }
  for (Outcome& r : out) {
    r.caption = trimmed(r.caption);
    if (r.error.empty() && r.caption.empty()) {
      r.error = "the model returned an empty caption";
      r.model_failed = true;
    }
  }
  return out;
}

// The run over one shard: pending records in batches, each batch appended to OUT.
class Recaptioner {
 public:
  Recaptioner(const RecaptionOptions& o, Input& input, RecaptionOutput& out, RecaptionErrors& errors)
      : o_(o), in_(input), out_(out), errors_(errors), remote_(is_endpoint(o.model)) {
    const fs::path out_dir = fs::weakly_canonical(fs::absolute(o.out)).parent_path();
    rebase_images_ = fs::weakly_canonical(fs::absolute(o.data)).parent_path() != out_dir;
    if (rebase_images_) out_dir_ = out_dir;
  }

  void run(const std::vector<const Item*>& pending, RecaptionProgress& progress,
           const std::function<void(const RecaptionProgress&)>& on_progress) {
    if (pending.empty()) return;
    judge_ = make_judge(o_);
    const auto batch = static_cast<std::ptrdiff_t>(o_.batch);
    for (auto begin = pending.begin(); begin < pending.end(); begin += std::min(batch, pending.end() - begin)) {
      run_batch({begin, begin + std::min(batch, pending.end() - begin)}, progress);
      if (on_progress) on_progress(progress);
    }
  }

  void fail_record(const Item& item, const std::string& image, const std::string& reason, RecaptionProgress& p) {
    spdlog::warn("recaption: {}:{}: record '{}': {}", o_.data.string(), item.line, item.id, reason);
    errors_.add(item.id, item.line, image, reason);
    ++p.failed;
    ++p.done;
  }

 private:
  const data::Record& record(const Item& item) const { return in_.dataset.records[static_cast<size_t>(item.record)]; }

  void run_batch(const std::vector<const Item*>& items, RecaptionProgress& p) {
    std::vector<const Item*> asked;
    std::vector<ordered_json> records;
    std::vector<JudgeRequest> requests;
    for (const Item* item : items) {
      const std::string image = record(*item).image.string();
      try {
        (void)vision::decode_image_file(image);  // a corrupt body fails here, with the decoder's reason
      } catch (const std::exception& e) {
        fail_record(*item, image, fmt::format("image {} does not decode: {}", image, e.what()), p);
        continue;
      }
      asked.push_back(item);
      records.push_back(ordered_json::parse(in_.text.at(item->line)));
      requests.push_back(JudgeRequest{o_.system, prompt_of(records.back(), o_), image});
    }
    if (asked.empty()) return;
    const std::vector<Outcome> outcomes = caption_batch(*judge_, remote_, requests, o_);
    std::vector<RecaptionOutput::Line> lines;
    for (size_t i = 0; i < asked.size(); ++i) {
      if (!outcomes[i].error.empty()) continue;
      lines.push_back({asked[i]->ordinal, asked[i]->id,
                       output_line(records[i], *asked[i], outcomes[i].caption, requests[i].user)});
    }
    out_.append(lines);  // before the failures are counted: a stop below keeps this batch
    p.written += static_cast<std::int64_t>(lines.size());
    p.done += static_cast<std::int64_t>(lines.size());
    for (size_t i = 0; i < asked.size(); ++i) {
      if (!outcomes[i].error.empty()) fail_record(*asked[i], *requests[i].image_path, outcomes[i].error, p);
      count_model_failure(outcomes[i], p);
    }
  }

  void count_model_failure(const Outcome& outcome, const RecaptionProgress& p) {
    consecutive_ = outcome.model_failed ? consecutive_ + 1 : 0;
    if (outcome.model_failed) last_error_ = outcome.error;
    if (o_.max_consecutive_failures <= 0 || consecutive_ < o_.max_consecutive_failures) return;
    fail("recaption: the last {} records in a row failed on {} (last error: {})\nHINT: {}; OUT {} keeps the {} "
         "record(s) written, and rerunning the same command continues from there; --max-consecutive-failures 0 "
         "never stops",
         consecutive_, o_.model, last_error_,
         remote_ ? "check that the endpoint is up and serves a vision model (curl " + o_.model + "/models), the "
                   "--model-name and --api-key-env"
                 : "check that the checkpoint loads and fits the device (--device, --dtype, --batch)",
         o_.out.string(), p.resumed + p.written);
  }

  // The input record with `references` = [caption], the old ones under `original_references` (an
  // earlier recaption's originals are kept), `recaption: {model, prompt}`, and a relative image
  // path rewritten for OUT's directory when it differs from the input's.
  std::string output_line(ordered_json j, const Item& item, const std::string& caption,
                          const std::string& prompt) const {
    if (!j.contains("original_references")) j["original_references"] = j["references"];
    j["references"] = ordered_json::array({caption});
    j["recaption"] = {{"model", o_.model}, {"prompt", prompt}};
    if (!o_.model_name.empty()) j["recaption"]["model_name"] = o_.model_name;
    if (rebase_images_ && !fs::path(j["image"].get<std::string>()).is_absolute()) {
      const fs::path image = fs::weakly_canonical(fs::absolute(record(item).image));
      const fs::path relative = image.lexically_relative(out_dir_);
      j["image"] = (relative.empty() ? image : relative).string();
    }
    // A caption cut mid-character (max_new_tokens) gets U+FFFD instead of failing the dump.
    return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  }

  const RecaptionOptions& o_;
  Input& in_;
  RecaptionOutput& out_;
  RecaptionErrors& errors_;
  bool remote_;
  bool rebase_images_ = false;
  fs::path out_dir_;
  std::unique_ptr<Judge> judge_;
  std::int64_t consecutive_ = 0;
  std::string last_error_;
};

}  // namespace

fs::path recaption_errors_path(const fs::path& out) { return fs::path(out.string() + ".errors.jsonl"); }

RecaptionSummary recaption(const RecaptionOptions& o,
                           const std::function<void(const RecaptionProgress&)>& on_progress) {
  check_options(o);
  Input input = read_input(o);
  RecaptionOutput out(o.out, [&input](const std::string& id) -> std::optional<std::int64_t> {
    auto it = input.ordinal.find(id);
    return it == input.ordinal.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
  });
  RecaptionErrors errors(recaption_errors_path(o.out));
  Recaptioner run(o, input, out, errors);
  RecaptionProgress progress;
  progress.total = static_cast<std::int64_t>(input.items.size());
  progress.resumed = progress.done = out.resumed();
  std::vector<const Item*> pending;
  for (const Item& item : input.items) {
    if (item.record < 0) {
      run.fail_record(item, "", item.problem, progress);
    } else if (!out.done(item.id)) {
      pending.push_back(&item);
    }
  }
  spdlog::info("recaption: {} record(s) in {}{}: {} already in {}, {} to caption with {}", progress.total,
               o.data.string(), o.shard_count > 1 ? fmt::format(" (shard {}/{})", o.shard_index, o.shard_count) : "",
               progress.resumed, o.out.string(), pending.size(), o.model);
  run.run(pending, progress, on_progress);
  out.finish();
  return {progress, o.out, errors.path()};
}

}  // namespace balcap::rewards
