// ByteFormer's forward pass in plain C++, one input on one thread, as LibTorch's ByteFormer
// computes it in masked numerics (src/model/byteformer.cpp, transformer_block.cpp,
// attention.cpp, token_merging.cpp, windowing.cpp). Loops are written so that the compiler
// vectorises them without reassociating float sums (no -ffast-math): every inner loop runs over
// output channels, never a reduction.
#include "byteformer/lite/lite_model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>

#include "lite/lite_model_file.h"

namespace byteformer {

namespace {

// --- Kernels ------------------------------------------------------------------------------

// Vectors of floats as values (GCC's and Clang's vector extension): Vec8 is two SSE registers
// on any x86-64 and one AVX register in the AVX2 kernels below. Written out because the
// auto-vectoriser turns the blocked product's plain loops into shuffles, not broadcasts.
typedef float Vec8 __attribute__((vector_size(32)));
// No vector crosses a call (every helper below is inlined), so how AVX returns one is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

typedef int32_t Int8 __attribute__((vector_size(32)));
typedef float Vec4 __attribute__((vector_size(16)));  // one SSE register
typedef int32_t Int4 __attribute__((vector_size(16)));

template <class V = Vec8>
__attribute__((always_inline)) inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <class V>
__attribute__((always_inline)) inline void store(float* p, const V& v) {
  std::memcpy(p, &v, sizeof(v));
}

// A block of 4 rows and 8*V columns of y = x wt (+ bias): x's rows K apart, wt's and y's N
// apart. The 4*V sums stay in registers over the whole K loop.
template <int V>
__attribute__((always_inline)) inline void product_block(const float* __restrict x, int64_t K,
                                                         const float* __restrict wt, int64_t N,
                                                         const float* __restrict bias, float* __restrict y,
                                                         bool accumulate) {
  Vec8 acc[4][V] = {};
  for (int64_t k = 0; k < K; ++k) {
    Vec8 w[V];
    for (int h = 0; h < V; ++h) w[h] = load<Vec8>(wt + k * N + 8 * h);
    for (int r = 0; r < 4; ++r) {
      const float a = x[r * K + k];
      const Vec8 xv = {a, a, a, a, a, a, a, a};
      for (int h = 0; h < V; ++h) acc[r][h] += xv * w[h];
    }
  }
  for (int r = 0; r < 4; ++r) {
    for (int h = 0; h < V; ++h) {
      Vec8 v = acc[r][h];
      if (bias != nullptr) v += load<Vec8>(bias + 8 * h);
      float* out = y + r * N + 8 * h;
      store(out, accumulate ? load<Vec8>(out) + v : v);
    }
  }
}

// One output value, the same sums in the same order as product_block's.
__attribute__((always_inline)) inline void product_one(const float* x, int64_t K, const float* wt, int64_t N,
                                                       const float* bias, float* y, bool accumulate) {
  float acc = 0.0f;
  for (int64_t k = 0; k < K; ++k) acc += x[k] * wt[k * N];
  if (bias != nullptr) acc += *bias;
  *y = accumulate ? *y + acc : acc;
}

// y (M, N) = x (M, K) wt (K, N) + bias (N, or none); with `accumulate`, y += that; blocks of
// 4 rows and 8*V columns.
template <int V>
__attribute__((always_inline)) inline void product_impl(const float* x, int64_t M, int64_t K, const float* wt,
                                                        int64_t N, const float* bias, float* y, bool accumulate) {
  auto at = [&](int64_t c) { return bias != nullptr ? bias + c : nullptr; };
  int64_t i = 0;
  for (; i + 4 <= M; i += 4) {
    int64_t n = 0;
    for (; n + 8 * V <= N; n += 8 * V) product_block<V>(x + i * K, K, wt + n, N, at(n), y + i * N + n, accumulate);
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = n; c < N; ++c) product_one(x + (i + r) * K, K, wt + c, N, at(c), y + (i + r) * N + c, accumulate);
  }
  for (; i < M; ++i)
    for (int64_t c = 0; c < N; ++c) product_one(x + i * K, K, wt + c, N, at(c), y + i * N + c, accumulate);
}

// exp on a vector V (I: its integer twin): Cephes' expf (range reduction by ln 2, a degree-5
// polynomial, 2^n from the exponent bits), within 2 ulp of expf on [-80, 88]; 0 below -80 (where
// expf is under 2e-35: no softmax weight or erf tail notices), so that no result is a denormal,
// which costs the CPU a hundred cycles an operation.
template <class V, class I>
__attribute__((always_inline)) inline V exp_v(const V& in) {
  V x = in < -80.0f ? V{} - 80.0f : in;
  x = x > 88.0f ? V{} + 88.0f : x;
  const V fx = x * 1.44269504088896341f + 0.5f;
  V n = __builtin_convertvector(__builtin_convertvector(fx, I), V);  // toward zero
  n = n > fx ? n - 1.0f : n;                                         // floor
  x = x - n * 0.693359375f + n * 2.12194440e-4f;
  const V z = x * x;
  V y = V{} + 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  const I bits = (__builtin_convertvector(n, I) + 127) << 23;
  V scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return in < -80.0f ? V{} : y * scale;
}

// erf on a vector: Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7), the formula of
// LibTorch's vectorised erf, which its CPU GELU runs.
template <class V, class I>
__attribute__((always_inline)) inline V erf_v(const V& x) {
  const V ax = x < 0.0f ? -x : x;
  const V t = 1.0f / (0.3275911f * ax + 1.0f);
  V r = 1.061405429f * t - 1.453152027f;
  r = r * t + 1.421413741f;
  r = r * t - 0.284496736f;
  r = r * t + 0.254829592f;
  const V e = 1.0f - r * t * exp_v<V, I>(-(x * x));
  return x < 0.0f ? -e : e;
}

// Exact (erf) GELU, CoreNet's `gelu`, in place: 0.5 x (1 + erf(x / sqrt 2)).
template <class V, class I>
__attribute__((always_inline)) inline void gelu_impl(float* x, int64_t n) {
  constexpr float kRsqrt2 = 0.70710678118654752440f;
  constexpr int64_t W = sizeof(V) / sizeof(float);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const V v = load<V>(x + i);
    store(x + i, 0.5f * v * (1.0f + erf_v<V, I>(v * kRsqrt2)));
  }
  for (; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kRsqrt2));
}

// Softmax of each of `n` rows (`stride` apart, a multiple of 16) over its first m values; the
// rest of each row (padding keys) becomes 0.
template <class V, class I>
__attribute__((always_inline)) inline void softmax_impl(float* rows, int64_t n, int64_t m, int64_t stride) {
  constexpr int64_t W = sizeof(V) / sizeof(float);
  for (int64_t i = 0; i < n; ++i) {
    float* r = rows + i * stride;
    float mx = r[0];
    for (int64_t j = 1; j < m; ++j) mx = std::max(mx, r[j]);
    for (int64_t j = 0; j < stride; j += W) store(r + j, exp_v<V, I>(load<V>(r + j) - mx));
    float sum = 0.0f;
    for (int64_t j = 0; j < m; ++j) sum += r[j];
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < m; ++j) r[j] *= inv;
    for (int64_t j = m; j < stride; ++j) r[j] = 0.0f;
  }
}

// The kernels for the vector width a CPU has, chosen once (no -march: the library runs on any
// x86-64; with AVX2 and FMA, their versions run).
struct Kernels {
  void (*product)(const float*, int64_t, int64_t, const float*, int64_t, const float*, float*, bool);
  void (*gelu)(float*, int64_t);
  void (*softmax)(float*, int64_t, int64_t, int64_t);
};

// Any x86-64 (SSE2): products in blocks of 4 x 8 sums (8 of its 16 registers), elementwise
// functions 4 floats at a time.
void product_sse(const float* x, int64_t M, int64_t K, const float* wt, int64_t N, const float* bias, float* y,
                 bool accumulate) {
  product_impl<1>(x, M, K, wt, N, bias, y, accumulate);
}
void gelu_sse(float* x, int64_t n) { gelu_impl<Vec4, Int4>(x, n); }
void softmax_sse(float* rows, int64_t n, int64_t m, int64_t stride) { softmax_impl<Vec4, Int4>(rows, n, m, stride); }

#if defined(__x86_64__) && defined(__GNUC__)
// AVX2 and FMA (x86-64-v3): blocks of 4 x 16 sums, 8 floats at a time. Its FMAs round once where
// SSE's multiply and add round twice: a difference far below docs/LITE.md's tolerance.
__attribute__((target("avx2,fma"))) void product_avx2(const float* x, int64_t M, int64_t K, const float* wt,
                                                      int64_t N, const float* bias, float* y, bool accumulate) {
  product_impl<2>(x, M, K, wt, N, bias, y, accumulate);
}
__attribute__((target("avx2,fma"))) void gelu_avx2(float* x, int64_t n) { gelu_impl<Vec8, Int8>(x, n); }
__attribute__((target("avx2,fma"))) void softmax_avx2(float* rows, int64_t n, int64_t m, int64_t stride) {
  softmax_impl<Vec8, Int8>(rows, n, m, stride);
}
#endif

const Kernels& kernels() {
  static const Kernels k = [] {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return Kernels{product_avx2, gelu_avx2, softmax_avx2};
#endif
    return Kernels{product_sse, gelu_sse, softmax_sse};
  }();
  return k;
}

// y (M, N) = x (M, K) wt (K, N) + bias (N, or none); with `accumulate`, y += that. wt is a
// Linear's weight transposed at load. Every product of the forward pass runs here.
void product(const float* x, int64_t M, int64_t K, const float* wt, int64_t N, const float* bias, float* y,
             bool accumulate) {
  kernels().product(x, M, K, wt, N, bias, y, accumulate);
}
void gelu(float* x, int64_t n) { kernels().gelu(x, n); }
// LayerNorm over each of `rows` rows of C values (biased variance), from x into y (may alias).
void layer_norm(const float* x, int64_t rows, int64_t C, const float* w, const float* b, float eps, float* y) {
  constexpr int L = 8;  // partial sums, so that the reductions vectorise without reassociation
  for (int64_t t = 0; t < rows; ++t) {
    const float* in = x + t * C;
    float part[L] = {};
    int64_t c = 0;
    for (; c + L <= C; c += L)
      for (int l = 0; l < L; ++l) part[l] += in[c + l];
    float sum = 0.f;
    for (int l = 0; l < L; ++l) sum += part[l];
    for (; c < C; ++c) sum += in[c];
    const float mean = sum / static_cast<float>(C);
    float vpart[L] = {};
    c = 0;
    for (; c + L <= C; c += L)
      for (int l = 0; l < L; ++l) vpart[l] += (in[c + l] - mean) * (in[c + l] - mean);
    float var = 0.f;
    for (int l = 0; l < L; ++l) var += vpart[l];
    for (; c < C; ++c) var += (in[c] - mean) * (in[c] - mean);
    const float inv = 1.0f / std::sqrt(var / static_cast<float>(C) + eps);
    float* out = y + t * C;
    for (c = 0; c < C; ++c) out[c] = (in[c] - mean) * inv * w[c] + b[c];
  }
}

// (rows, cols) -> (cols, rows).
std::vector<float> transposed(const std::vector<float>& m, int64_t rows, int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
  return t;
}

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void read_at(int fd, void* out, uint64_t n, uint64_t offset, const std::string& path) {
  auto* p = static_cast<uint8_t*>(out);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error(fmt::format("{}: byte {}: {}", path, offset, std::strerror(errno)));
    if (got == 0) throw std::runtime_error(fmt::format("{}: byte {}: the file ended early", path, offset));
    p += got, n -= static_cast<uint64_t>(got), offset += static_cast<uint64_t>(got);
  }
}

}  // namespace

// --- The model -----------------------------------------------------------------------------

struct LiteModel::Impl {
  struct Layer {
    int64_t window = 0, shift = 0;
    const float *ln1_w = nullptr, *ln1_b = nullptr;  // pre_norm_mha.0
    std::vector<float> qkv_t;                        // (C, 3C): pre_norm_mha.1.qkv_proj.weight^T
    const float* qkv_b = nullptr;                    // (3C)
    std::vector<float> out_t;                        // (C, C): pre_norm_mha.1.out_proj.weight^T
    const float* out_b = nullptr;
    const float *ln2_w = nullptr, *ln2_b = nullptr;  // pre_norm_ffn.0
    std::vector<float> fc1_t;                        // (C, F): pre_norm_ffn.1.weight^T
    const float* fc1_b = nullptr;
    std::vector<float> fc2_t;  // (F, C): pre_norm_ffn.4.weight^T
    const float* fc2_b = nullptr;
    bool merge = false;
    std::vector<float> merge_t;  // (2C, C): reduction.weight's columns token-major (t*C + c), transposed
    const float *merge_ln_w = nullptr, *merge_ln_b = nullptr;
  };

  std::string name;
  LiteModelSpec spec;
  std::map<std::string, std::vector<float>> tensors;  // as in the file
  int64_t C = 0, H = 0, F = 0, k = 0, s = 0, V = 0;
  float eps = 1e-5f;
  const float* embeddings = nullptr;  // (V, C)
  const float* pos = nullptr;         // (max_num_tokens, C)
  std::vector<float> conv_t;          // (k, C, C): conv_t[j][c][o] = token_reduction_net.weight[o][c][j]
  std::vector<Layer> layers;
  const float *post_w = nullptr, *post_b = nullptr;
  std::vector<float> classifier_t;  // (C, n_classes)
  const float* classifier_b = nullptr;

  // The token reduction's table T[j][v] = W_j E[v] (k*V rows of C), filled lazily: only the
  // rows an input uses, each computed once. The whole table costs k*V*C*C multiply-adds (34 M
  // for the shipped model, about 2.7 ms here), the direct Conv1d N*k*C*C on every file (17 M,
  // about 1.3 ms, on 2048 bytes); rows on demand cost at most the direct Conv1d (an input uses
  // at most N*k rows: about 1 ms on 2048 random bytes, less on real files, whose bytes repeat)
  // and nothing once earlier files have filled them (docs/LITE.md). Pages of the table are
  // touched only when filled.
  mutable std::mutex table_mutex;
  mutable std::unique_ptr<float[]> table;
  mutable std::vector<uint8_t> table_filled;

  const float* weight(const std::string& key) const { return tensors.at(key).data(); }
  void prepare();
  /// The model of a parsed header named `name`, each tensor's values read by `read(dst, place)`.
  template <class Read>
  static std::unique_ptr<Impl> from_header(lite_detail::LiteHeader parsed, const std::string& name, Read read) {
    auto impl = std::make_unique<Impl>();
    impl->name = name;
    impl->spec = std::move(parsed.spec);
    for (const auto& t : parsed.tensors) {
      std::vector<float>& v = impl->tensors[t.shape.name];
      v.resize(t.bytes / sizeof(float));
      read(v.data(), parsed.data_start + t.offset, t.bytes);
    }
    impl->prepare();
    return impl;
  }
  void reduce_tokens(const uint8_t* bytes, int64_t n, int64_t N, float* x) const;
  void attention(const float* qkv, int64_t N, int64_t window, int64_t shift, float* out) const;
};

void LiteModel::Impl::prepare() {
  const LiteArchitecture& a = spec.architecture;
  C = a.embed_dim, H = a.num_heads, F = a.ffn_dim, k = a.conv_kernel_size, s = a.conv_stride, V = a.vocab_size;
  eps = static_cast<float>(a.layer_norm_eps);
  embeddings = weight("embeddings.weight");
  pos = weight("pos_embed.pos_embed.pos_embed");
  const std::vector<float>& W = tensors.at("token_reduction_net.weight");  // (C_out, C_in, k)
  conv_t.resize(static_cast<size_t>(k * C * C));
  for (int64_t o = 0; o < C; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < k; ++j) conv_t[(j * C + c) * C + o] = W[(o * C + c) * k + j];
  for (int64_t i = 0; i < a.num_layers; ++i) {
    Layer l;
    const std::string p = fmt::format("transformer.{}.", i);
    l.window = a.window_sizes[static_cast<size_t>(i)];
    l.shift = a.window_shifts[static_cast<size_t>(i)];
    l.ln1_w = weight(p + "pre_norm_mha.0.weight");
    l.ln1_b = weight(p + "pre_norm_mha.0.bias");
    l.qkv_t = transposed(tensors.at(p + "pre_norm_mha.1.qkv_proj.weight"), 3 * C, C);
    l.qkv_b = weight(p + "pre_norm_mha.1.qkv_proj.bias");
    l.out_t = transposed(tensors.at(p + "pre_norm_mha.1.out_proj.weight"), C, C);
    l.out_b = weight(p + "pre_norm_mha.1.out_proj.bias");
    l.ln2_w = weight(p + "pre_norm_ffn.0.weight");
    l.ln2_b = weight(p + "pre_norm_ffn.0.bias");
    l.fc1_t = transposed(tensors.at(p + "pre_norm_ffn.1.weight"), F, C);
    l.fc1_b = weight(p + "pre_norm_ffn.1.bias");
    l.fc2_t = transposed(tensors.at(p + "pre_norm_ffn.4.weight"), C, F);
    l.fc2_b = weight(p + "pre_norm_ffn.4.bias");
    l.merge = a.downsample[static_cast<size_t>(i)];
    if (l.merge) {
      const std::string d = fmt::format("downsamplers.downsample_{}.", i);
      const std::vector<float>& R = tensors.at(d + "reduction.weight");  // (C, 2C), column 2c + t
      // A pair of tokens is 2C contiguous values, token-major (t*C + c).
      l.merge_t.resize(static_cast<size_t>(2 * C * C));
      for (int64_t o = 0; o < C; ++o)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t t = 0; t < 2; ++t) l.merge_t[((t * C) + c) * C + o] = R[o * 2 * C + 2 * c + t];
      l.merge_ln_w = weight(d + "norm.weight");
      l.merge_ln_b = weight(d + "norm.bias");
    }
    layers.push_back(std::move(l));
  }
  post_w = weight("post_transformer_norm.weight");
  post_b = weight("post_transformer_norm.bias");
  classifier_t = transposed(tensors.at("classifier.weight"), a.n_classes, C);
  classifier_b = weight("classifier.bias");
  table.reset(new float[static_cast<size_t>(k * V * C)]);  // uninitialised: untouched pages cost no memory
  table_filled.assign(static_cast<size_t>(k * V), 0);
}

void LiteModel::Impl::reduce_tokens(const uint8_t* bytes, int64_t n, int64_t N, float* x) const {
  // Token t = sum_j T[j][bytes[t*s + j]]; positions past the input (a row shorter than the
  // kernel, padded) take the padding row, which is zero.
  std::lock_guard<std::mutex> lock(table_mutex);
  std::vector<int64_t> missing;
  std::vector<float> rows, out;
  for (int64_t j = 0; j < k; ++j) {
    missing.clear();
    for (int64_t t = 0; t < N; ++t) {
      const int64_t p = t * s + j;
      if (p >= n) break;
      uint8_t& filled = table_filled[static_cast<size_t>(j * V + bytes[p])];
      if (filled == 0) {
        filled = 1;
        missing.push_back(bytes[p]);
      }
    }
    if (missing.empty()) continue;
    // Rows in product()'s blocks of 4 only (zero rows pad the last block): a row that ended in
    // its remainder would be summed by other code, and a table row's value, hence a file's
    // answer, would depend on which files filled the table before it.
    const auto m = static_cast<int64_t>(missing.size()), m4 = (m + 3) / 4 * 4;
    rows.assign(static_cast<size_t>(m4 * C), 0.0f);
    out.resize(static_cast<size_t>(m4 * C));
    for (int64_t r = 0; r < m; ++r) std::memcpy(&rows[r * C], embeddings + missing[r] * C, C * sizeof(float));
    product(rows.data(), m4, C, conv_t.data() + j * C * C, C, nullptr, out.data(), false);  // (m4, C)
    for (int64_t r = 0; r < m; ++r) std::memcpy(&table[(j * V + missing[r]) * C], &out[r * C], C * sizeof(float));
  }
  for (int64_t t = 0; t < N; ++t) {
    float* y = x + t * C;
    std::fill(y, y + C, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t p = t * s + j;
      if (p >= n) break;
      const float* row = &table[(j * V + bytes[p]) * C];
      for (int64_t c = 0; c < C; ++c) y[c] += row[c];
    }
  }
}

void LiteModel::Impl::attention(const float* qkv, int64_t N, int64_t w, int64_t shift, float* out) const {
  // Masked windows (windowing.cpp's masked_window): token n sits at padded position
  // left_pad + n; window g is padded positions [g*w, (g+1)*w); a token attends to the real
  // tokens of its own window only. Per window and head: S = (q * scale) k^T, softmax by row,
  // S v, both products through product() with the keys padded to a multiple of 16 (zero keys
  // and values past the real ones, which softmax leaves out and whose weights are zero), and
  // at most kQueryBlock queries at a time, so that the scores take O(w) memory, not O(w^2).
  constexpr int64_t kQueryBlock = 64;
  const int64_t d = C / H, C3 = 3 * C;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const int64_t left_pad = (w - shift % w) % w;
  const int64_t windows = (left_pad + N + w - 1) / w;
  std::vector<float> q, kt, v, sc, o;
  for (int64_t g = 0; g < windows; ++g) {
    const int64_t t0 = std::max<int64_t>(0, g * w - left_pad), t1 = std::min(N, (g + 1) * w - left_pad);
    const int64_t m = t1 - t0, mp = (m + 15) / 16 * 16;
    if (m <= 0) continue;
    q.resize(static_cast<size_t>(m * d));
    kt.assign(static_cast<size_t>(d * mp), 0.0f);  // (d, mp): keys transposed
    v.assign(static_cast<size_t>(mp * d), 0.0f);   // (mp, d)
    sc.resize(static_cast<size_t>(std::min(m, kQueryBlock) * mp));  // (queries, mp): scores, then weights
    o.resize(static_cast<size_t>(m * d));
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t j = 0; j < m; ++j) {
        const float* row = qkv + (t0 + j) * C3 + h * d;
        for (int64_t c = 0; c < d; ++c) {
          q[j * d + c] = row[c] * scale;
          kt[c * mp + j] = row[C + c];
          v[j * d + c] = row[2 * C + c];
        }
      }
      for (int64_t i0 = 0; i0 < m; i0 += kQueryBlock) {
        const int64_t n = std::min(kQueryBlock, m - i0);
        product(&q[i0 * d], n, d, kt.data(), mp, nullptr, sc.data(), false);  // (n, mp)
        kernels().softmax(sc.data(), n, m, mp);
        product(sc.data(), n, mp, v.data(), d, nullptr, &o[i0 * d], false);  // (n, d)
      }
      for (int64_t i = 0; i < m; ++i) std::memcpy(out + (t0 + i) * C + h * d, &o[i * d], d * sizeof(float));
    }
  }
}

LiteModel::LiteModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LiteModel::LiteModel(LiteModel&&) noexcept = default;
LiteModel& LiteModel::operator=(LiteModel&&) noexcept = default;
LiteModel::~LiteModel() = default;

LiteModel LiteModel::load(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a fifo nobody writes must not block
  if (f.fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw std::runtime_error(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(fmt::format("{}: not a regular file", path));
  const auto size = static_cast<uint64_t>(st.st_size);
  uint8_t preamble[lite_detail::kPreambleBytes] = {};
  read_at(f.fd, preamble, std::min<uint64_t>(size, sizeof(preamble)), 0, path);
  const uint64_t length = lite_detail::read_header_length(preamble, size, path);
  std::vector<uint8_t> header(length);
  read_at(f.fd, header.data(), length, lite_detail::kPreambleBytes, path);
  return LiteModel(Impl::from_header(lite_detail::parse_lite_header(header.data(), length, size, path), path,
                                     [&](float* dst, uint64_t offset, uint64_t bytes) {
                                       read_at(f.fd, dst, bytes, offset, path);
                                     }));
}

LiteModel LiteModel::from_bytes(const uint8_t* data, size_t size, const std::string& name) {
  const uint64_t length = lite_detail::read_header_length(data, size, name);
  return LiteModel(Impl::from_header(
      lite_detail::parse_lite_header(data + lite_detail::kPreambleBytes, length, size, name), name,
      [&](float* dst, uint64_t offset, uint64_t bytes) { std::memcpy(dst, data + offset, bytes); }));
}

const LiteModelSpec& LiteModel::spec() const { return impl_->spec; }

int64_t LiteModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& [_, v] : impl_->tensors) n += static_cast<int64_t>(v.size());
  return n;
}

const std::vector<float>& LiteModel::tensor(const std::string& name) const {
  const auto it = impl_->tensors.find(name);
  if (it == impl_->tensors.end()) throw std::out_of_range(fmt::format("LiteModel::tensor - no tensor '{}'", name));
  return it->second;
}

std::vector<float> LiteModel::logits(const uint8_t* bytes, size_t size) const {
  const Impl& m = *impl_;
  const LiteArchitecture& a = m.spec.architecture;
  if (size == 0) throw std::invalid_argument("LiteModel::logits - empty input");
  const auto n = static_cast<int64_t>(size);
  if (n > a.max_input_bytes())
    throw std::invalid_argument(fmt::format("LiteModel::logits - {} bytes give {} tokens after the Conv1d, more than "
                                            "max_num_tokens {}: at most {} bytes",
                                            n, a.tokens_after_conv(n), a.max_num_tokens, a.max_input_bytes()));
  const int64_t C = m.C, F = m.F;
  int64_t N = a.tokens_after_conv(n);
  // 1-3. Embedding and Conv1d (the table's rows), positional rows 0..N-1.
  std::vector<float> x(static_cast<size_t>((N + 1) * C));  // (N, C), room for a merge's zero token
  m.reduce_tokens(bytes, n, N, x.data());
  for (int64_t i = 0; i < N * C; ++i) x[i] += m.pos[i];
  // The FFN runs kFfnRows tokens at a time: its (rows, ffn_dim) activation stays small.
  constexpr int64_t kFfnRows = 256;
  std::vector<float> h(static_cast<size_t>(N * C)), qkv(static_cast<size_t>(N * 3 * C)),
      att(static_cast<size_t>(N * C)), f(static_cast<size_t>(std::min(N, kFfnRows) * F));
  // 4-5. Blocks: x += out_proj(attention(LN(x))); x += fc2(gelu(fc1(LN(x)))); token merging.
  for (const Impl::Layer& l : m.layers) {
    layer_norm(x.data(), N, C, l.ln1_w, l.ln1_b, m.eps, h.data());
    product(h.data(), N, C, l.qkv_t.data(), 3 * C, l.qkv_b, qkv.data(), false);  // (N, 3C)
    m.attention(qkv.data(), N, l.window, l.shift, att.data());                   // (N, C)
    product(att.data(), N, C, l.out_t.data(), C, l.out_b, x.data(), true);
    for (int64_t r0 = 0; r0 < N; r0 += kFfnRows) {
      const int64_t rows = std::min(kFfnRows, N - r0);
      layer_norm(&x[r0 * C], rows, C, l.ln2_w, l.ln2_b, m.eps, h.data());
      product(h.data(), rows, C, l.fc1_t.data(), F, l.fc1_b, f.data(), false);  // (rows, F)
      gelu(f.data(), rows * F);
      product(f.data(), rows, F, l.fc2_t.data(), C, l.fc2_b, &x[r0 * C], true);
    }
    if (l.merge) {
      // Pairs (2m, 2m+1), an odd N padded with a zero token: (M, 2C) -> (M, C), then LayerNorm.
      const int64_t M = (N + 1) / 2;
      if (N % 2 == 1) std::fill(x.begin() + N * C, x.begin() + (N + 1) * C, 0.0f);
      product(x.data(), M, 2 * C, l.merge_t.data(), C, nullptr, h.data(), false);
      layer_norm(h.data(), M, C, l.merge_ln_w, l.merge_ln_b, m.eps, x.data());
      N = M;
    }
  }
  // 6. Final norm, mean over the tokens, classifier.
  layer_norm(x.data(), N, C, m.post_w, m.post_b, m.eps, h.data());
  std::vector<float> pooled(static_cast<size_t>(C), 0.0f);
  for (int64_t t = 0; t < N; ++t)
    for (int64_t c = 0; c < C; ++c) pooled[c] += h[t * C + c];
  for (float& v : pooled) v /= static_cast<float>(N);
  std::vector<float> out(static_cast<size_t>(a.n_classes));
  product(pooled.data(), 1, C, m.classifier_t.data(), a.n_classes, m.classifier_b, out.data(), false);
  return out;
}

std::vector<float> softmax(const std::vector<float>& logits) {
  std::vector<float> p(logits.size());
  if (logits.empty()) return p;
  const float mx = *std::max_element(logits.begin(), logits.end());
  float sum = 0.0f;
  for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(logits[i] - mx);
  for (float& v : p) v /= sum;
  return p;
}

int64_t argmax(const std::vector<float>& values) {
  if (values.empty()) return -1;
  return static_cast<int64_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

}  // namespace byteformer
