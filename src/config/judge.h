#pragma once
// `rewards.judges.<name>:` — who answers an objective's questions (docs/architecture.md §6): a model in
// this process (`local`), an OpenAI-compatible server (`remote`), dependency-free text
// matching (`lexical`) or the synthetic scene's ground truth (`scene`).
#include <cstdint>
#include <string>
#include <string_view>

#include "config/spec.h"

namespace balcap::config {

struct JudgeConfig {
  std::string kind;  // required unless the judge's name is itself a kind (lexical, scene)
  // local
  std::string model;
  std::string device = "auto";
  std::string dtype = "auto";
  std::int64_t batch_size = 16;
  std::int64_t max_new_tokens = 512;
  // remote
  std::string url;
  std::string api = "completions";
  std::string model_name;
  std::string api_key_env;
  std::int64_t concurrency = 8;
  double timeout_s = 60.0;
  std::int64_t max_retries = 3;
  double backoff_s = 1.0;
  double total_timeout_s = 300.0;
  std::string ssl_ca;
  bool cache = true;
  bool vision = false;

  // The entry a name starts from: judges named `lexical` or `scene` need no `kind`.
  static JudgeConfig defaults_for(std::string_view name) {
    JudgeConfig j;
    if (name == "lexical" || name == "scene") j.kind = std::string(name);
    return j;
  }

  template <class V>
  void visit(V& v) {
    v.field("kind", kind,
            "How this judge answers: `local` (a checkpoint loaded in-process), `remote` (an "
            "OpenAI-compatible endpoint), `lexical` (text matching, no model), `scene` (the "
            "synthetic scene's ground truth). Defaults to the judge's name when that is a kind.",
            Spec().one_of({"local", "remote", "lexical", "scene"}));
    v.field("model", model, "local: judge checkpoint directory (Qwen2/LLaMA text or Qwen2.5-VL vision).");
    v.field("device", device, "local: where the judge runs; `auto` = the policy's device.", Spec().device());
    v.field("dtype", dtype, "local: judge weight dtype; `auto` = bfloat16 on GPU, float32 on CPU.",
            Spec().one_of({"auto", "float32", "bfloat16", "float16"}));
    v.field("batch_size", batch_size,
            "local: prompts per judge forward pass; remote (`api: completions`): prompts per HTTP request.",
            Spec().at_least(1));
    v.field("max_new_tokens", max_new_tokens, "Longest judge generation (claim extraction), in tokens.",
            Spec().at_least(1));
    v.field("url", url, "remote: server base URL, e.g. http://judge-host:8000/v1.");
    v.field("api", api, "remote: which endpoint is called (both must return logprobs).",
            Spec().one_of({"completions", "chat"}));
    v.field("model_name", model_name, "remote: the `model` field sent; empty = the server's only model.");
    v.field("api_key_env", api_key_env,
            "remote: name of the environment variable holding the API key (the key is never logged); "
            "empty = no key.");
    v.field("concurrency", concurrency, "remote: most requests in flight.", Spec().at_least(1).at_most(4096));
    v.field("timeout_s", timeout_s, "remote: per-request timeout, seconds.", Spec().above(0));
    v.field("max_retries", max_retries, "remote: retries of a failed request (exponential backoff).",
            Spec().at_least(0).at_most(100));
    v.field("backoff_s", backoff_s,
            "remote: first retry delay, seconds; doubles each retry (plus up to 25% random jitter). A 429 or 503 "
            "reply with Retry-After waits what the server asks instead (at most 60 s).",
            Spec().at_least(0));
    v.field("total_timeout_s", total_timeout_s,
            "remote: the most one request may take over all its attempts and retry waits, seconds; a retry whose "
            "wait would pass it is not made.",
            Spec().above(0));
    v.field("ssl_ca", ssl_ca,
            "remote, https URLs: PEM file of the CA (or self-signed certificate) that signed the server's "
            "certificate; empty = the system's CA store.");
    v.field("cache", cache, "remote: reuse responses for identical requests (keyed by a request hash).");
    v.field("vision", vision,
            "remote, `api: chat`: the served model sees images; requests carry their image as a data: URL.");
  }
  bool operator==(const JudgeConfig&) const = default;
};

}  // namespace balcap::config
