// The head's fused softmax rows on the CPU (see softmax_rows.h). The row loops are written once with
// GCC/Clang vector extensions (8 floats) and compiled twice: for AVX2 + FMA (chosen at run time
// when the CPU has them) and for the baseline ISA.
#include "models/softmax_rows.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace balcap::models {
namespace {

constexpr int kLanes = 8;
using vfloat = float __attribute__((vector_size(kLanes * sizeof(float))));
using vint = std::int32_t __attribute__((vector_size(kLanes * sizeof(float))));

#define BALCAP_INLINE __attribute__((always_inline)) inline

BALCAP_INLINE vfloat splat(float x) { return vfloat{} + x; }

BALCAP_INLINE vfloat load(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

BALCAP_INLINE void store(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }

// The last n < kLanes floats of a row, the other lanes `fill`.
BALCAP_INLINE vfloat load_tail(const float* p, std::int64_t n, float fill) {
  vfloat v = splat(fill);
  for (std::int64_t i = 0; i < n; ++i) v[i] = p[i];
  return v;
}

BALCAP_INLINE void store_tail(float* p, std::int64_t n, vfloat v) {
  for (std::int64_t i = 0; i < n; ++i) p[i] = v[i];
}

BALCAP_INLINE float hsum(vfloat v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

BALCAP_INLINE float hmax(vfloat v) {
  float m = v[0];
  for (int i = 1; i < kLanes; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// exp(x) for x <= 88.3 (the callers pass x - max <= 0): Cephes' expf. n = round(x / ln 2) by the
// 1.5 * 2^23 trick, r = x - n ln 2 in two parts, e^r by a degree-6 polynomial, 2^n from the
// exponent bits. Below -87.3 the result is 0 (so exp(-inf) = 0, and no denormals).
BALCAP_INLINE vfloat vexp(vfloat x) {
  const vint underflow = x < splat(-87.33654f);
  x = x < splat(-87.33654f) ? splat(-87.33654f) : x;
  const vfloat n = (x * splat(1.44269504088896341f) + splat(12582912.0f)) - splat(12582912.0f);
  const vfloat r = x - n * splat(0.693359375f) - n * splat(-2.12194440e-4f);
  vfloat p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * (r * r) + r + splat(1.0f);
  const vint bits = (__builtin_convertvector(n, vint) + 127) << 23;
  vfloat scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const vfloat e = p * scale;
  return underflow ? splat(0.0f) : e;
}

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct RowStats {
  float shift = 0, log_mass = 0, logprob = 0, entropy = 0;
};

// Adds e = exp(x / T - m) and e (x / T - m) (0 where e is: x = -inf would give 0 * -inf) to the
// running sums; returns e.
BALCAP_INLINE vfloat exp_step(vfloat x, float inv_t, float m, vfloat& mass, vfloat& moment) {
  const vfloat d = x * splat(inv_t) - splat(m);
  const vfloat e = vexp(d);
  mass += e;
  moment += e > splat(0.0f) ? e * d : splat(0.0f);
  return e;
}

// max_v z_v of one row.
BALCAP_INLINE float row_max(const float* z, std::int64_t V) {
  const std::int64_t whole = V - V % kLanes;
  vfloat top = splat(kNegInf);
  for (std::int64_t v = 0; v < whole; v += kLanes) {
    const vfloat x = load(z + v);
    top = x > top ? x : top;
  }
  float m = hmax(top);
  for (std::int64_t v = whole; v < V; ++v) m = z[v] > m ? z[v] : m;
  return m;
}

// One row's statistics (softmax_rows.h); with to_exp the row becomes e = exp(x - m).
BALCAP_INLINE RowStats row_stats_body(float* z, std::int64_t V, float inv_t, std::int64_t target, bool to_exp) {
  const std::int64_t whole = V - V % kLanes;
  const float m = row_max(z, V) * inv_t;
  const float target_x = z[target] * inv_t;
  vfloat mass = splat(0.0f), moment = splat(0.0f);
  for (std::int64_t v = 0; v < whole; v += kLanes) {
    const vfloat e = exp_step(load(z + v), inv_t, m, mass, moment);
    if (to_exp) store(z + v, e);
  }
  if (whole < V) {
    const vfloat e = exp_step(load_tail(z + whole, V - whole, kNegInf), inv_t, m, mass, moment);
    if (to_exp) store_tail(z + whole, V - whole, e);
  }
  const float s = hsum(mass);
  RowStats out;
  out.shift = m;
  out.log_mass = std::log(s);
  out.logprob = target_x - m - out.log_mass;
  out.entropy = out.log_mass - hsum(moment) / s;
  return out;
}

// d loss / d x of 8 logits z: -p (a + b (log p + h)) / T with log p = z / T - lse (0 where p is).
BALCAP_INLINE vfloat grad_step(vfloat z, float inv_t, float lse, float a, float b, float h) {
  const vfloat logp = z * splat(inv_t) - splat(lse);
  const vfloat p = vexp(logp);
  const vfloat coef = splat(a) + splat(b) * (logp + splat(h));
  return p > splat(0.0f) ? -(p * coef) * splat(inv_t) : splat(0.0f);
}

// One row's d loss / d z in place (softmax_rows.h): a = g_logprob, b = g_entropy, h = entropy.
BALCAP_INLINE void row_grad_body(float* z, std::int64_t V, float inv_t, std::int64_t target, float lse, float a,
                                 float b, float h) {
  const std::int64_t whole = V - V % kLanes;
  for (std::int64_t v = 0; v < whole; v += kLanes) store(z + v, grad_step(load(z + v), inv_t, lse, a, b, h));
  if (whole < V) {
    store_tail(z + whole, V - whole, grad_step(load_tail(z + whole, V - whole, kNegInf), inv_t, lse, a, b, h));
  }
  z[target] += a * inv_t;
}

// One row's block masses (softmax_block_masses); returns m.
BALCAP_INLINE float row_masses_body(const float* z, std::int64_t V, float inv_t, std::int64_t width, float* mass) {
  const float m = row_max(z, V) * inv_t;
  vfloat unused = splat(0.0f);
  for (std::int64_t first = 0, b = 0; first < V; first += width, ++b) {
    const std::int64_t last = first + width < V ? first + width : V;
    const std::int64_t whole = last - (last - first) % kLanes;
    vfloat sum = splat(0.0f);
    for (std::int64_t v = first; v < whole; v += kLanes) exp_step(load(z + v), inv_t, m, sum, unused);
    if (whole < last) exp_step(load_tail(z + whole, last - whole, kNegInf), inv_t, m, sum, unused);
    mass[b] = hsum(sum);
  }
  return m;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma"))) float row_masses_avx2(const float* z, std::int64_t V, float inv_t,
                                                           std::int64_t width, float* mass) {
  return row_masses_body(z, V, inv_t, width, mass);
}
__attribute__((target("avx2,fma"))) RowStats row_stats_avx2(float* z, std::int64_t V, float inv_t,
                                                             std::int64_t target, bool to_exp) {
  return row_stats_body(z, V, inv_t, target, to_exp);
}
__attribute__((target("avx2,fma"))) void row_grad_avx2(float* z, std::int64_t V, float inv_t, std::int64_t target,
                                                        float lse, float a, float b, float h) {
  row_grad_body(z, V, inv_t, target, lse, a, b, h);
}
bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#else
bool cpu_has_avx2() { return false; }
#endif

RowStats row_stats(float* z, std::int64_t V, float inv_t, std::int64_t target, bool to_exp) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_has_avx2()) return row_stats_avx2(z, V, inv_t, target, to_exp);
#endif
  return row_stats_body(z, V, inv_t, target, to_exp);
}

float row_masses(const float* z, std::int64_t V, float inv_t, std::int64_t width, float* mass) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_has_avx2()) return row_masses_avx2(z, V, inv_t, width, mass);
#endif
  return row_masses_body(z, V, inv_t, width, mass);
}

void row_grad(float* z, std::int64_t V, float inv_t, std::int64_t target, float lse, float a, float b, float h) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (cpu_has_avx2()) return row_grad_avx2(z, V, inv_t, target, lse, a, b, h);
#endif
  row_grad_body(z, V, inv_t, target, lse, a, b, h);
}

// The targets as contiguous CPU int64, each checked to lie in [0, V) (the kernels index rows by them).
at::Tensor checked_targets(const at::Tensor& targets, std::int64_t V) {
  const at::Tensor ids = targets.to(at::kCPU, at::kLong).contiguous();
  if (ids.numel() > 0) {
    const std::int64_t lo = ids.min().item<std::int64_t>(), hi = ids.max().item<std::int64_t>();
    BALCAP_CHECK(lo >= 0 && hi < V, "softmax_rows: target id {} outside the vocabulary [0, {}). HINT: the ids must "
                 "belong to the head these logits come from.", lo < 0 ? lo : hi, V);
  }
  return ids;
}

// A [c] float32 tensor's values as contiguous CPU floats (undefined -> empty).
at::Tensor row_values(const at::Tensor& t) {
  return t.defined() ? t.to(at::kCPU, at::kFloat).contiguous() : at::Tensor();
}

}  // namespace

bool softmax_rows_apply(const at::Tensor& z) {
  return z.defined() && z.dim() == 2 && z.device().is_cpu() && z.scalar_type() == at::kFloat && z.is_contiguous();
}

SoftmaxRowStats softmax_row_stats(at::Tensor& z, const at::Tensor& targets, double temperature, bool entropy,
                                  bool to_exp) {
  BALCAP_CHECK(softmax_rows_apply(z) && targets.dim() == 1 && targets.size(0) == z.size(0),
               "softmax_row_stats: logits {} ({}) and targets {} must be a contiguous float32 CPU [c, V] and [c]. "
               "HINT: check softmax_rows_apply first.",
               c10::str(z.sizes()), c10::toString(z.scalar_type()), c10::str(targets.sizes()));
  const std::int64_t c = z.size(0), V = z.size(1);
  const at::Tensor ids = checked_targets(targets, V);
  const auto opts = z.options();
  SoftmaxRowStats s{at::empty({c}, opts), at::empty({c}, opts), at::empty({c}, opts),
                    entropy ? at::empty({c}, opts) : at::Tensor()};
  float* zp = z.data_ptr<float>();
  const std::int64_t* tp = ids.data_ptr<std::int64_t>();
  float *shift = s.shift.data_ptr<float>(), *log_mass = s.log_mass.data_ptr<float>(),
        *logprob = s.logprob.data_ptr<float>(), *ent = entropy ? s.entropy.data_ptr<float>() : nullptr;
  const auto inv_t = static_cast<float>(1.0 / temperature);
  at::parallel_for(0, c, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const RowStats row = row_stats(zp + r * V, V, inv_t, tp[r], to_exp);
      shift[r] = row.shift;
      log_mass[r] = row.log_mass;
      logprob[r] = row.logprob;
      if (ent != nullptr) ent[r] = row.entropy;
    }
  });
  return s;
}

void softmax_logits_grad_(at::Tensor& z, const at::Tensor& targets, double temperature, const SoftmaxRowStats& stats,
                          const at::Tensor& g_logprob, const at::Tensor& g_entropy) {
  BALCAP_CHECK(softmax_rows_apply(z) && targets.size(0) == z.size(0) && (!g_entropy.defined() || stats.entropy.defined()),
               "softmax_logits_grad_: logits {} ({}), targets {}, entropy gradient {} with entropy {}: need a "
               "contiguous float32 CPU [c, V], [c] targets, and the entropy when its gradient is given. HINT: ask "
               "softmax_row_stats for the entropy.",
               c10::str(z.sizes()), c10::toString(z.scalar_type()), c10::str(targets.sizes()), g_entropy.defined(),
               stats.entropy.defined());
  const std::int64_t c = z.size(0), V = z.size(1);
  const at::Tensor ids = checked_targets(targets, V);
  const at::Tensor a = row_values(g_logprob), b = row_values(g_entropy);
  const at::Tensor lse = stats.shift + stats.log_mass;
  const at::Tensor h = b.defined() ? row_values(stats.entropy) : at::Tensor();
  float* zp = z.data_ptr<float>();
  const std::int64_t* tp = ids.data_ptr<std::int64_t>();
  const float* lp = lse.data_ptr<float>();
  const float* ap = a.defined() ? a.data_ptr<float>() : nullptr;
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  const float* hp = h.defined() ? h.data_ptr<float>() : nullptr;
  const auto inv_t = static_cast<float>(1.0 / temperature);
  at::parallel_for(0, c, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      row_grad(zp + r * V, V, inv_t, tp[r], lp[r], ap != nullptr ? ap[r] : 0.0f, bp != nullptr ? bp[r] : 0.0f,
               hp != nullptr ? hp[r] : 0.0f);
    }
  });
}

SoftmaxBlockMasses softmax_block_masses(const at::Tensor& z, double temperature, std::int64_t width) {
  BALCAP_CHECK(softmax_rows_apply(z) && width > 0 && width % kLanes == 0,
               "softmax_block_masses: logits {} ({}) must be a contiguous float32 CPU [c, V] and the block width {} "
               "a positive multiple of {}. HINT: check softmax_rows_apply first.",
               c10::str(z.sizes()), c10::toString(z.scalar_type()), width, kLanes);
  const std::int64_t c = z.size(0), V = z.size(1), blocks = (V + width - 1) / width;
  SoftmaxBlockMasses out{at::empty({c, 1}, z.options()), at::empty({c, blocks}, z.options())};
  const float* zp = z.data_ptr<float>();
  float *shift = out.shift.data_ptr<float>(), *mass = out.mass.data_ptr<float>();
  const auto inv_t = static_cast<float>(1.0 / temperature);
  at::parallel_for(0, c, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) shift[r] = row_masses(zp + r * V, V, inv_t, width, mass + r * blocks);
  });
  return out;
}

}  // namespace balcap::models
