#pragma once
// `balcap recaption` (docs/data.md "Recaptioning references"): new reference captions for a JSONL
// dataset, written by a multimodal model through the Judge seam -- a local checkpoint (Qwen2.5-VL,
// LLaVA-1.5; the local vision judge) or an OpenAI-compatible endpoint (the remote judge, `api:
// chat`, the image as a base64 image_url part). BalCapRL's references are ShareGPT4V's images
// recaptioned this way.
//
// OUT gets the input records in input order, each with `references` = [the new caption], the old
// ones kept as `original_references` and `recaption: {model, prompt}`; one line per record,
// appended and fsync'd per batch. Resumable: a rerun with the same arguments drops a truncated last
// line (a kill mid-write), skips the ids OUT already holds and appends the rest, so the final file
// equals an uninterrupted run's (greedy decoding). A record that fails (bad line, unreadable image,
// the model or the endpoint failing it after its retries) is logged, written to
// `OUT.errors.jsonl` ({id, line, image, reason}; rewritten by each run) and counted; a rerun
// retries it. `max_consecutive_failures` model failures in a row stop the run (an endpoint that is
// down for everything fails loudly instead of failing every record).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace balcap::rewards {

// The captioning instruction of a record: `prompt` option, else the record's own "prompt" field
// (its original instruction; "<image>" tags removed), else this: the instruction ShareGPT4V's
// Share-Captioner was run with (tools/share-cap_batch_infer.py in github.com/ShareGPT4Omni/ShareGPT4V).
inline constexpr const char* kShareCaptionerPrompt = "Analyze the image in a comprehensive and detailed manner.";

struct RecaptionOptions {
  std::string model;                  // checkpoint directory, or an http(s):// OpenAI-compatible base URL
  std::filesystem::path data, out;    // input dataset JSONL, output JSONL
  std::optional<std::string> prompt;  // overrides every record's prompt
  std::string system;                 // system message ("" = none for LLaVA, an empty one for ChatML)
  std::int64_t max_new_tokens = 1024;
  std::int64_t batch = 8;                   // records per model call / per flush
  std::string device = "auto", dtype = "auto";  // local: judge device (auto = cuda when present) and dtype
  std::string api_key_env, model_name;      // remote: key variable, the `model` field sent
  std::int64_t concurrency = 8;             // remote: requests in flight
  double timeout_s = 300, total_timeout_s = 900;  // remote: per request, over all retries
  std::int64_t max_retries = 3;                   // remote
  std::int64_t shard_index = 0, shard_count = 1;  // this run takes contiguous block shard_index of shard_count
  std::int64_t max_consecutive_failures = 20;     // model failures in a row that stop the run (0 = never)
};

struct RecaptionProgress {
  std::int64_t total = 0;         // records of this shard (bad lines included)
  std::int64_t resumed = 0;       // already in OUT when the run started
  std::int64_t done = 0;          // resumed + written + failed so far
  std::int64_t written = 0;       // by this run
  std::int64_t failed = 0;        // by this run
};

struct RecaptionSummary {
  RecaptionProgress counts;
  std::filesystem::path out, errors;  // errors: OUT.errors.jsonl
};

// `OUT.jsonl` -> `OUT.jsonl.errors.jsonl`.
std::filesystem::path recaption_errors_path(const std::filesystem::path& out);

// Runs the whole shard; on_progress after every batch. Bad options, an unreadable input, an OUT
// that is not this input's recaption, or max_consecutive_failures -> balcap::Error (OUT keeps what
// was written).
RecaptionSummary recaption(const RecaptionOptions& options,
                           const std::function<void(const RecaptionProgress&)>& on_progress = {});

}  // namespace balcap::rewards
