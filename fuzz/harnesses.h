#pragma once
// The fuzz harnesses of issue 18 (docs/reliability.md): one function per input format balcap reads
// from outside. Each takes arbitrary bytes and feeds them to the real parser, then uses what it
// parsed the way balcap does (tensors read, texts tokenized, images processed, configs re-saved).
// Called by the libFuzzer binaries bin/fuzz_<name> (fuzz_main.cpp, -DBALCAP_FUZZ=ON) and by the
// regression test tests/unit/fuzz_regressions_test.cpp on every file of tests/data/fuzz/<name>/.
//
// Contract: a harness returns 0 for every input. Input the code refuses with balcap::Error (the
// clear, user-facing error) is an accepted outcome and is caught inside; any other exception
// (nlohmann::json::exception, std::out_of_range, c10::Error, ...) escapes and is a bug, as are a
// crash, a sanitizer report, more than 1 s or more than 1 GB for one input (scripts/fuzz).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace balcap::fuzz {

using Bytes = std::span<const uint8_t>;

int safetensors(Bytes input);      // a .safetensors file: header, tensor table, every tensor's bytes
int tokenizer_json(Bytes input);   // a tokenizer.json, then encode/decode with it
int tokenizer_model(Bytes input);  // a sentencepiece tokenizer.model, then encode/decode with it
int tokenize(Bytes input);         // arbitrary text and ids through the Qwen and LLaMA-2 vocabularies
int image(Bytes input);            // a PNG/JPEG file, then the Qwen2-VL and CLIP processors
int config(Bytes input);           // an experiment YAML: load, validate, re-save, reload
int dataset(Bytes input);          // a dataset JSONL file (records, images, QA, scenes)
int serve_request(Bytes input);    // the JSON body of POST /v1/completions and /v1/chat/completions
int judge_reply(Bytes input);      // a server's JSON reply as the remote judge reads it
int trainer_state(Bytes input);    // a checkpoint's trainer_state.json, and what resume does with it

struct Harness {
  std::string_view name;  // "safetensors": tests/data/fuzz/<name>/, bin/fuzz_<name>
  int (*run)(Bytes input);
};
// Every harness above, in that order.
std::span<const Harness> all_harnesses();

}  // namespace balcap::fuzz
