// The group sampler (see sampler.h): prefill per request, keep each prompt's keys/values once as the
// shared prefix of its G rows, decode all B*G rows together, compact finished rows away.
#include "sampling/sampler.h"

#include <algorithm>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/fault_points.h"
#include "sampling/counter_rng.h"
#include "sampling/decode_graph.h"
#include "sampling/token_choice.h"

namespace balcap::sampling {
namespace {

// The active rows of the decode batch; every tensor is [n, ...] on the policy's device.
struct DecodeRows {
  models::KvCache cache;          // generated tokens [n, H_kv, T_max, D] per layer, after the prompts' shared prefix
  at::Tensor sample;      // [n] int64: which sample (request * G + member) each row is
  at::Tensor keys;        // [n] int64: counter_rng row keys
  at::Tensor pos_offset;  // [n] int64: rotary position of generated token t = pos_offset + t
  at::Tensor key_mask;    // [n, T_max] bool, static decoding only: the slots written so far
  at::Tensor history;     // [n, prompt_len + max_new] int64 prompt + generated ids (repetition penalty only)
  at::Tensor finished;    // [n] bool: sampled a stop id
};

struct Layout {
  int64_t prompt_len = 0;  // longest prompt: the history's prompts end there
  at::Tensor logits;       // [n, V] float32: the next-token logits of every row after its prompt
  DecodeRows rows;
};

at::Tensor long_tensor(const std::vector<int64_t>& values, at::Device device) {
  return at::tensor(values, at::kLong).to(device);
}

// Repetition-penalty history [N, width]: prompt right-aligned at prompt_len, every other slot
// repeating the row's first id (a duplicate is penalised once, like HF's gather/scatter).
at::Tensor prompt_history(const std::vector<SampleRequest>& requests, int64_t G, int64_t prompt_len, int64_t width) {
  at::Tensor history = at::empty({static_cast<int64_t>(requests.size()), width}, at::kLong);
  for (size_t r = 0; r < requests.size(); ++r) {
    const auto& ids = requests[r].prompt.ids;
    const auto L = static_cast<int64_t>(ids.size());
    history[r].fill_(ids.front());
    history[r].narrow(0, prompt_len - L, L).copy_(at::tensor(ids, at::kLong));
  }
  return history.repeat_interleave(G, 0);
}

// Prompt tokens per prefill call: prompts of one length are prefilled together up to this many
// tokens (a 448 px Qwen2.5-VL caption prompt is ~290 tokens: ~28 prompts per call).
constexpr int64_t kPrefillTokens = 8192;

// The prefills of all requests: which batch and row each request's prompt went to.
struct Prefills {
  std::vector<models::PolicyPrefillBatch> batches;
  std::vector<std::pair<size_t, int64_t>> where;  // per request: (batch, row)
  int64_t prompt_len = 0;                         // the longest prompt
};

// Requests grouped by prompt length (same-size images give same-length prompts), each group
// prefilled in batches of up to kPrefillTokens tokens.
Prefills prefill_all(models::Policy& policy, const std::vector<SampleRequest>& requests) {
  std::map<size_t, std::vector<size_t>> by_length;
  for (size_t r = 0; r < requests.size(); ++r) by_length[requests[r].prompt.ids.size()].push_back(r);
  Prefills out;
  out.where.resize(requests.size());
  for (const auto& [length, members] : by_length) {
    const size_t per_batch = std::max<size_t>(1, kPrefillTokens / std::max<size_t>(1, length));
    for (size_t first = 0; first < members.size(); first += per_batch) {
      std::vector<const models::PolicyPrompt*> prompts;
      for (size_t i = first; i < std::min(members.size(), first + per_batch); ++i) {
        out.where[members[i]] = {out.batches.size(), static_cast<int64_t>(prompts.size())};
        prompts.push_back(&requests[members[i]].prompt);
      }
      out.batches.push_back(policy.prefill_batch(prompts));
      out.prompt_len = std::max(out.prompt_len, static_cast<int64_t>(length));
    }
  }
  return out;
}

// The prompts' keys/values once per request (right-padded to the longest, padding masked), shared
// by its G rows: no per-member copy (SharedPrefix, prefix_attention.h). When one prefill batch holds
// every request in order, its cache is the prefix as it stands (no copy at all).
models::SharedPrefix shared_prompts(Prefills& prefills, int64_t G) {
  const auto B = static_cast<int64_t>(prefills.where.size());
  const int64_t P = prefills.prompt_len;
  models::KvCache& first = prefills.batches.front().cache;
  models::SharedPrefix prefix;
  prefix.group = G;
  const at::Device device = first.keys(0).device();
  if (prefills.batches.size() == 1) {  // one length, one batch, rows in request order
    prefix.keys.assign(first.num_layers(), {});
    prefix.values.assign(first.num_layers(), {});
    for (int64_t l = 0; l < first.num_layers(); ++l) {
      prefix.keys[l] = first.keys(l);
      prefix.values[l] = first.values(l);
    }
    prefix.key_mask = at::ones({B, P}, at::TensorOptions().dtype(at::kBool).device(device));
    return prefix;
  }
  std::vector<int64_t> lengths;
  for (const auto& [batch, row] : prefills.where) lengths.push_back(prefills.batches[batch].cache.max_seq_len());
  prefix.key_mask = (at::arange(P, at::kLong).unsqueeze(0) < at::tensor(lengths, at::kLong).unsqueeze(1)).to(device);
  for (int64_t l = 0; l < first.num_layers(); ++l) {
    const auto& k0 = first.keys(l);
    at::Tensor keys = at::zeros({B, k0.size(1), P, k0.size(3)}, k0.options());
    at::Tensor values = at::zeros_like(keys);
    for (int64_t r = 0; r < B; ++r) {
      const auto& [batch, row] = prefills.where[r];
      keys[r].narrow(1, 0, lengths[r]).copy_(prefills.batches[batch].cache.keys(l)[row]);
      values[r].narrow(1, 0, lengths[r]).copy_(prefills.batches[batch].cache.values(l)[row]);
    }
    prefix.keys.push_back(keys);
    prefix.values.push_back(values);
  }
  return prefix;
}

Layout lay_out(models::Policy& policy, const std::vector<SampleRequest>& requests, const SamplingParams& p,
               const RolloutSeed& seed) {
  const int64_t G = p.group_size, B = static_cast<int64_t>(requests.size()), N = B * G;
  const at::Device device = policy.device();
  Prefills prefills = prefill_all(policy, requests);
  // Generated token t sits at cache index t; the last one is sampled, never written.
  const int64_t t_max = std::max<int64_t>(1, p.max_new_tokens - 1);
  Layout layout{prefills.prompt_len, {}, {models::KvCache(policy.decoder_config(), N, t_max, policy.dtype(), device)}};
  layout.rows.cache.set_prefix(shared_prompts(prefills, G));

  std::vector<int64_t> offsets, keys;
  std::vector<at::Tensor> logits;
  for (int64_t r = 0; r < B; ++r) {
    const auto& [batch, row] = prefills.where[r];
    logits.push_back(prefills.batches[batch].logits.narrow(0, row, 1));
    for (int64_t g = 0; g < G; ++g) {
      offsets.push_back(prefills.batches[batch].next_positions[row]);
      keys.push_back(static_cast<int64_t>(row_key(seed.seed, seed.step, seed.rank, requests[r].image_key, g)));
    }
  }
  auto& rows = layout.rows;
  rows.sample = at::arange(N, at::TensorOptions().dtype(at::kLong).device(device));
  rows.keys = long_tensor(keys, device);
  rows.pos_offset = long_tensor(offsets, device);
  if (p.repetition_penalty != 1.0) {
    rows.history = prompt_history(requests, G, layout.prompt_len, layout.prompt_len + p.max_new_tokens).to(device);
  }
  rows.finished = at::zeros({N}, rows.sample.options().dtype(at::kBool));
  layout.logits = at::cat(logits).to(at::kFloat).repeat_interleave(G, 0);  // [N, V]
  return layout;
}

TokenChoice choose(at::Tensor& logits, const DecodeRows& rows, int64_t t, const SamplingParams& p,
                   const at::Tensor& stops) {
  if (rows.history.defined()) apply_repetition_penalty(logits, rows.history, p.repetition_penalty);
  if (t < p.min_new_tokens) block_tokens(logits, stops);
  if (p.greedy) return choose_greedy(logits);
  return choose_sampled(logits, step_keys(rows.keys, t), {p.temperature, p.top_k, p.top_p});
}

// Keeps rows `keep` [n'] of every per-row tensor (and of the cache).
void keep_rows(DecodeRows& rows, at::Tensor& tokens, const at::Tensor& keep) {
  rows.cache.select_rows(keep);
  for (at::Tensor* t : {&rows.sample, &rows.keys, &rows.pos_offset, &rows.key_mask, &rows.history, &rows.finished,
                        &tokens}) {
    if (t->defined()) *t = t->index_select(0, keep);
  }
}

// The periodic host sync: true when every row finished; compacts when at least half did.
bool all_finished_or_compact(DecodeRows& rows, at::Tensor& tokens) {
  const int64_t n = rows.finished.size(0);
  const int64_t done = rows.finished.sum().item<int64_t>();
  if (done == n) return true;
  if (done > 0 && 2 * done >= n) keep_rows(rows, tokens, rows.finished.logical_not().nonzero().squeeze(1));
  return false;
}

// Generated tokens/logprobs [N, max_new] (device) and how many steps ran.
struct Generated {
  at::Tensor tokens, logprobs;
  int64_t steps = 0;
};

// The static-shape path's state: the device-side cache index of the token being written and the
// step (eager, or replayed from a CUDA graph). Undefined index = the eager, growing-shape path.
struct StaticDecode {
  at::Tensor index;  // [1] int64
  std::unique_ptr<StaticDecodeStep> step;
};

// Switches `rows` to static decoding: key_mask [N, T_max] starts closed; decode_next opens one slot
// per step.
StaticDecode start_static(models::Policy& policy, Layout& layout, const SamplingParams& p) {
  DecodeRows& rows = layout.rows;
  rows.key_mask = at::zeros({rows.sample.size(0), rows.cache.max_seq_len()}, rows.sample.options().dtype(at::kBool));
  return {at::zeros({1}, rows.sample.options()),
          std::make_unique<StaticDecodeStep>(policy, p.cuda_graphs && !p.static_decode)};
}

// Logits [N, V] float32 after writing `tokens` at cache index `index` (host int), either path.
at::Tensor decode_next(models::Policy& policy, DecodeRows& rows, StaticDecode& st, const at::Tensor& tokens, int64_t index) {
  if (!st.index.defined()) {
    return policy.decode(tokens, rows.pos_offset + index, rows.cache, index, at::Tensor()).to(at::kFloat);
  }
  st.index.fill_(index);                          // device write: no sync
  rows.key_mask.index_fill_(1, st.index, true);  // the new token sees itself; later rows see it
  const int64_t key_len = std::min(rows.cache.max_seq_len(), (index / kStaticKeyBucket + 1) * kStaticKeyBucket);
  const at::Tensor keys = rows.key_mask.narrow(1, 0, key_len);
  return (*st.step)(tokens, rows.pos_offset + st.index, rows.cache, st.index, keys).to(at::kFloat);
}

Generated decode_all(models::Policy& policy, Layout& layout, const SamplingParams& p, const at::Tensor& stops) {
  DecodeRows& rows = layout.rows;
  const int64_t N = rows.sample.size(0);
  Generated out{at::zeros({N, p.max_new_tokens}, rows.sample.options()),
                at::zeros({N, p.max_new_tokens}, rows.sample.options().dtype(at::kFloat)), 0};
  const bool graphs = p.cuda_graphs && policy.device().is_cuda();
  StaticDecode st = p.static_decode || graphs ? start_static(policy, layout, p) : StaticDecode{};
  at::Tensor logits = layout.logits;
  for (int64_t t = 0; t < p.max_new_tokens; ++t) {
    TokenChoice c = choose(logits, rows, t, p, stops);
    out.tokens.select(1, t).index_copy_(0, rows.sample, c.tokens);
    out.logprobs.select(1, t).index_copy_(0, rows.sample, c.logprobs);
    out.steps = t + 1;
    if (stops.numel() > 0) rows.finished.logical_or_(at::isin(c.tokens, stops));
    if (t + 1 == p.max_new_tokens) break;
    if ((t + 1) % p.finish_check_every == 0 && all_finished_or_compact(rows, c.tokens)) break;
    if (rows.history.defined()) rows.history.select(1, layout.prompt_len + t).copy_(c.tokens);
    fault::hit("sampling.decode_step");  // reliability tests: a kill during the rollout
    logits = decode_next(policy, rows, st, c.tokens, t);  // token t sits at cache index t
  }
  return out;
}

// decode(ids without the stop id, skip_special_tokens); ids past the tokenizer's vocabulary (the
// padding rows of a model's embedding) are skipped, as HF tokenizers' decode does.
std::string caption_text(const Sample& s, const text::Tokenizer& tokenizer) {
  const size_t n = s.ids.size() - (s.finish_reason == "stop" ? 1 : 0);
  std::vector<int32_t> ids;
  for (size_t i = 0; i < n; ++i) {
    if (s.ids[i] < tokenizer.vocab_size()) ids.push_back(static_cast<int32_t>(s.ids[i]));
  }
  return tokenizer.decode(ids, /*skip_special_tokens=*/true);
}

// Host side: cut each row at its first stop id, decode the text.
std::vector<Sample> collect(const Generated& gen, const SamplingParams& p, const text::Tokenizer& tokenizer, int64_t G) {
  const at::Tensor tokens = gen.tokens.narrow(1, 0, gen.steps).cpu().contiguous();
  const at::Tensor logprobs = gen.logprobs.narrow(1, 0, gen.steps).cpu().contiguous();
  std::vector<Sample> samples(tokens.size(0));
  for (int64_t n = 0; n < tokens.size(0); ++n) {
    const int64_t* ids = tokens[n].data_ptr<int64_t>();
    const float* lps = logprobs[n].data_ptr<float>();
    Sample& s = samples[n];
    s.request = n / G;
    s.member = n % G;
    s.finish_reason = "length";
    for (int64_t t = 0; t < gen.steps; ++t) {
      s.ids.push_back(ids[t]);
      s.logprobs.push_back(lps[t]);
      if (std::find(p.stop_ids.begin(), p.stop_ids.end(), ids[t]) != p.stop_ids.end()) {
        s.finish_reason = "stop";
        break;
      }
    }
    s.text = caption_text(s, tokenizer);
  }
  return samples;
}

}  // namespace

std::vector<Sample> sample(models::Policy& policy, const text::Tokenizer& tokenizer, const std::vector<SampleRequest>& requests,
                           const SamplingParams& params, const RolloutSeed& seed) {
  validate(params);
  if (requests.empty()) return {};
  torch::NoGradGuard no_grad;
  Layout layout = lay_out(policy, requests, params, seed);
  const at::Tensor stops = long_tensor(params.stop_ids, policy.device());
  const Generated generated = decode_all(policy, layout, params, stops);
  return collect(generated, params, tokenizer, params.group_size);
}

}  // namespace balcap::sampling
