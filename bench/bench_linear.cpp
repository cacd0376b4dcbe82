// The inference products of ByteFormer-Ti (fast_linear.h) with oneDNN and with ATen/OpenBLAS,
// in the same run: GFLOP/s per shape, one thread on one 256-row chunk and two threads on a whole
// layer of the JPEG k=4 workload (4 x 24,281 tokens), and the attention of 8 windows x 3 heads;
// then the same shapes as plain oneDNN products in float32 and in bf16 (bf16 inputs and weights,
// float32 accumulation and output: what a bf16 path would run), one thread on 256 rows, with
// the kernel oneDNN chose for each, so that a bf16 path's ceiling on this CPU is a measurement;
// beside them the int8 products (u8 or s8 activations x s8 weights, s32 sums, float32 out with a
// scale per output channel) an int8 path runs, on one thread and on all. The CPU's model, its
// flags that matter (avx512_bf16, VNNI, AMX) and oneDNN's ISA come first.
//
//   build/bench/bench_linear [--threads T]
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "bench_setup.h"
#include "model/cpu/fast_linear.h"
#include "byteformer/runtime/runtime.h"

#ifdef BYTEFORMER_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

using Clock = std::chrono::steady_clock;
using byteformer::LinearEpilogue;

// Best of 3 timings of `reps` calls, in GFLOP/s.
double gflops(double flops_per_call, int reps, const std::function<void()>& call) {
  call();  // warm-up (and oneDNN's kernel generation)
  double best = 0;
  for (int t = 0; t < 3; ++t) {
    const auto start = Clock::now();
    for (int i = 0; i < reps; ++i) call();
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, flops_per_call * reps / s / 1e9);
  }
  return best;
}

struct Shape {
  const char* name;
  int64_t K, N;
  LinearEpilogue epilogue;
};

#ifdef BYTEFORMER_HAVE_ONEDNN
// One oneDNN matmul (M, K) x (K, N) -> (M, N) float32 out, inputs and weights of `type`, on the
// calling thread: GFLOP/s and oneDNN's name for the kernel it picked.
std::pair<double, std::string> onednn_product(int64_t M, int64_t K, int64_t N, dnnl::memory::data_type type) {
  using dt = dnnl::memory::data_type;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dnnl::memory::desc src({M, K}, type, {K, 1}), weights({K, N}, type, {1, K}), dst({M, N}, dt::f32, {N, 1});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), engine);
  const dnnl::matmul product(pd);
  dnnl::memory a(src, engine), b(weights, engine), c(dst, engine);
  std::memset(a.get_data_handle(), 0, src.get_size());  // zeros: the timing does not depend on values
  std::memset(b.get_data_handle(), 0, weights.get_size());
  const double r = gflops(2.0 * M * K * N, M > 256 ? 40 : 400, [&] {
    product.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  });
  return {r, pd.impl_info_str()};
}

// One oneDNN int8 matmul (M, K) x (K, N): src of `src_type` (u8 or s8), s8 weights, s32
// accumulation; float32 out with a scale per output channel (output scales, mask 1 << 1), or the
// s32 sums themselves. The weights as the model keeps them (W (N, K) row-major, read as W^T), or
// `packed`: reordered once into the layout oneDNN asks for (format `any`). GOP/s and the kernel.
std::pair<double, std::string> onednn_int8_product(int64_t M, int64_t K, int64_t N, dnnl::memory::data_type src_type,
                                                   dnnl::memory::data_type dst_type, bool packed) {
  using dt = dnnl::memory::data_type;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dnnl::memory::desc src({M, K}, src_type, {K, 1}), dst({M, N}, dst_type, {N, 1});
  const dnnl::memory::desc weights = packed ? dnnl::memory::desc({K, N}, dt::s8, dnnl::memory::format_tag::any)
                                            : dnnl::memory::desc({K, N}, dt::s8, {1, K});
  dnnl::primitive_attr attr;
  if (dst_type == dt::f32) attr.set_output_scales(/*mask=*/1 << 1, std::vector<float>(static_cast<size_t>(N), 0.01f));
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), attr, engine);
  const dnnl::matmul product(pd);
  dnnl::memory a(src, engine), b(pd.weights_desc(), engine), c(dst, engine);
  std::memset(a.get_data_handle(), 0, src.get_size());
  std::memset(b.get_data_handle(), 0, pd.weights_desc().get_size());
  const double r = gflops(2.0 * M * K * N, M > 256 ? 40 : 400, [&] {
    product.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  });
  return {r, pd.impl_info_str()};
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const int threads = byteformer::bench::setup(argc, argv, "The model's linear layers: OpenBLAS against oneDNN, float32 and bf16");
  byteformer::set_compute_threads(threads);
  torch::manual_seed(0);
  c10::InferenceMode inference;
  if (!byteformer::onednn_built()) fmt::print("built without oneDNN: both columns run ATen\n");
  fmt::print("byteformer bench_linear: {} threads; GFLOP/s, best of 3\n{}\n", threads,
             byteformer::cpu_description());
  fmt::print("{:<60} {:>9} {:>9} {:>7}\n", "product (ByteFormer-Ti)", "OpenBLAS", "oneDNN", "ratio");
  const Shape shapes[] = {{"qkv_proj (C -> 3C)", 192, 576, LinearEpilogue::kStore},
                          {"FFN fc1 + GELU (C -> 4C)", 192, 768, LinearEpilogue::kGelu},
                          {"FFN fc2 + residual (4C -> C)", 768, 192, LinearEpilogue::kAccumulate},
                          {"out_proj (C -> C)", 192, 192, LinearEpilogue::kStore}};
  auto row = [](const std::string& name, double aten, double dnnl) {
    fmt::print("{:<60} {:>9.1f} {:>9.1f} {:>6.2f}x\n", name, aten, dnnl, dnnl / aten);
  };
  auto both = [&](const std::function<double()>& measure) {
    byteformer::set_onednn_enabled(false);
    const double aten = measure();
    byteformer::set_onednn_enabled(true);
    return std::make_pair(aten, measure());
  };
  for (const auto& s : shapes) {
    for (const int64_t rows : {int64_t{256}, int64_t{4 * 24281}}) {
      auto x = torch::randn({rows, s.K}), w = torch::randn({s.N, s.K}) * 0.05, b = torch::randn({s.N});
      auto out = torch::zeros({rows, s.N});
      const double flops = 2.0 * rows * s.K * s.N;
      auto [aten, dnnl] = both([&] {
        if (rows > 256) return gflops(flops, 3, [&] { byteformer::linear_into(out, x, w, b, s.epilogue); });
        // One chunk on one thread, as inside the model's row tasks.
        byteformer::set_compute_threads(1);
        const double r = gflops(flops, 400, [&] { byteformer::linear_into(out, x, w, b, s.epilogue); });
        byteformer::set_compute_threads(threads);
        return r;
      });
      row(fmt::format("{}, {} rows, {}", s.name, rows, rows > 256 ? "all threads" : "one thread"), aten, dnnl);
    }
  }
  // The int8 path as the model runs it (linear_into with an int8 weight): each row quantized to
  // u8, the u8 x s8 product, the s32 sums back to float32 with the bias and the epilogue.
  if (byteformer::int8_products()) {
    fmt::print("{:<60} {:>9} {:>9} {:>7}\n", "linear_into, float32 against int8 (incl. quantize, epilogue)",
               "float32", "int8", "ratio");
    for (const auto& s : shapes) {
      for (const int64_t rows : {int64_t{256}, int64_t{4 * 24281}}) {
        auto x = torch::randn({rows, s.K}), w = torch::randn({s.N, s.K}) * 0.05, b = torch::randn({s.N});
        auto out = torch::zeros({rows, s.N});
        const auto q = byteformer::quantize_weight(w);
        const double flops = 2.0 * rows * s.K * s.N;
        const int reps = rows > 256 ? 3 : 400;
        if (rows == 256) byteformer::set_compute_threads(1);
        const double f32 = gflops(flops, reps, [&] { byteformer::linear_into(out, x, w, b, s.epilogue); });
        const double int8 = gflops(flops, reps, [&] { byteformer::linear_into(out, x, q, b, s.epilogue); });
        byteformer::set_compute_threads(threads);
        row(fmt::format("{}, {} rows, {}", s.name, rows, rows > 256 ? "all threads" : "one thread"), f32, int8);
      }
    }
  } else {
    fmt::print("no int8 products here: {}\n", byteformer::int8_products_missing());
  }
  // Attention of 8 windows of 128 tokens x 3 heads of 64 on one thread: scores = q k^T / 8,
  // softmax, out = scores v, read from (tokens, 3C) qkv rows as the inference path does.
  {
    const int64_t n = 8, w = 128, C = 192, d = 64, H = 3;
    auto qkv = torch::randn({n, w, 3 * C});
    auto out = torch::empty({n, w, C});
    auto scores = torch::empty({n, w, w});
    const double flops = 2.0 * 2.0 * n * H * w * w * d;
    auto [aten, dnnl] = both([&] {
      byteformer::set_compute_threads(1);
      const double r = gflops(flops, 200, [&] {
        for (int64_t h = 0; h < H; ++h) {
          auto q = qkv.slice(2, h * d, (h + 1) * d), k = qkv.slice(2, C + h * d, C + (h + 1) * d);
          auto v = qkv.slice(2, 2 * C + h * d, 2 * C + (h + 1) * d);
          auto o = out.slice(2, h * d, (h + 1) * d);
          byteformer::batched_matmul_into(scores, q, k.transpose(1, 2), 0.125);
          at::_softmax_out(scores, scores, -1, false);
          byteformer::batched_matmul_into(o, scores, v, 1.0);
        }
      });
      byteformer::set_compute_threads(threads);
      return r;
    });
    row("attention, 8 windows x 3 heads, softmax incl., one thread", aten, dnnl);
  }
#ifdef BYTEFORMER_HAVE_ONEDNN
  // float32 against bf16 and int8 in oneDNN itself: 256 rows on one thread (OpenMP on one thread:
  // the product runs on the caller), as the model's row tasks run them, then 4,096 rows on all
  // threads. int8: u8 x s8 (the operands VNNI multiplies) and s8 x s8, s32 sums.
  using dt = dnnl::memory::data_type;
  for (const int t : {1, threads}) {
    if (t > 1 && threads == 1) break;
    const int64_t M = t == 1 ? 256 : 4096;
    byteformer::set_compute_threads(t);
    fmt::print("\noneDNN products, {} rows, {} thread(s); GFLOP/s (int8: GOP/s)\n", M, t);
    fmt::print("{:<16} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  {}\n", "shape", "float32", "bf16", "u8s8", "u8s8 pk",
               "u8s8 s32", "s8s8", "int8/f32");
    for (const auto& s : shapes) {
      const auto [f32, f32_kernel] = onednn_product(M, s.K, s.N, dt::f32);
      const auto [bf16, bf16_kernel] = onednn_product(M, s.K, s.N, dt::bf16);
      const auto [u8s8, u8s8_kernel] = onednn_int8_product(M, s.K, s.N, dt::u8, dt::f32, /*packed=*/false);
      const auto [packed, packed_kernel] = onednn_int8_product(M, s.K, s.N, dt::u8, dt::f32, /*packed=*/true);
      const auto [s32, s32_kernel] = onednn_int8_product(M, s.K, s.N, dt::u8, dt::s32, /*packed=*/false);
      const auto [s8s8, s8s8_kernel] = onednn_int8_product(M, s.K, s.N, dt::s8, dt::f32, /*packed=*/false);
      fmt::print("{:<16} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f}  {:.2f}x\n",
                 fmt::format("K {} x N {}", s.K, s.N), f32, bf16, u8s8, packed, s32, s8s8, u8s8 / f32);
      fmt::print("  kernels: float32 {} | bf16 {} | u8s8 {} | u8s8 packed {} | u8s8 s32 {} | s8s8 {}\n", f32_kernel,
                   bf16_kernel, u8s8_kernel, packed_kernel, s32_kernel, s8s8_kernel);
    }
  }
  byteformer::set_compute_threads(1);
  // The training paths' weight gradients, dW (N, K) = dY^T X over R rows of one task (the
  // quickstart model's shapes, C = 64): ATen's mm (OpenBLAS) on the transposed view, against
  // oneDNN reading dY^T in place (a transposed source) and against dY^T copied then multiplied;
  // "ours" is what the training functions call, add_weight_gradient (oneDNN reading dY^T in
  // place, the result added to dW).
  fmt::print("\n{:<44} {:>9} {:>9} {:>9} {:>9}  {}\n", "weight gradient dY^T X, one thread", "OpenBLAS", "oneDNN T",
             "copy+DNN", "ours", "kernel (transposed source)");
  struct GradShape {
    const char* name;
    int64_t N, K, R;
  };
  const GradShape grads[] = {{"qkv_proj N 192 K 64, 512 rows", 192, 64, 512},
                             {"out_proj N 64 K 64, 512 rows", 64, 64, 512},
                             {"fc1 N 256 K 64, 1024 rows", 256, 64, 1024},
                             {"fc2 N 64 K 256, 1024 rows", 64, 256, 1024},
                             {"qkv_proj N 192 K 64, 300 rows (a short tail)", 192, 64, 300}};
  for (const auto& g : grads) {
    auto dy = torch::randn({g.R, g.N}), x = torch::randn({g.R, g.K}), dw = torch::empty({g.N, g.K});
    const double flops = 2.0 * g.N * g.K * g.R;
    byteformer::set_onednn_enabled(false);
    const double blas = gflops(flops, 400, [&] { at::mm_out(dw, dy.t(), x); });
    byteformer::set_onednn_enabled(true);
    using dt = dnnl::memory::data_type;
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const dnnl::memory::desc src({g.N, g.R}, dt::f32, {1, g.N}), weights({g.R, g.K}, dt::f32, {g.K, 1}),
        dst({g.N, g.K}, dt::f32, {g.K, 1});
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), engine);
    const dnnl::matmul product(pd);
    dnnl::memory a(src, engine, dy.data_ptr<float>()), b(weights, engine, x.data_ptr<float>()),
        c(dst, engine, dw.data_ptr<float>());
    const double transposed = gflops(flops, 400, [&] {
      product.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
      stream.wait();
    });
    auto dw3 = dw.unsqueeze(0);
    const double copied = gflops(flops, 400, [&] {
      const auto dyt = dy.t().contiguous().unsqueeze(0);
      byteformer::batched_matmul_into(dw3, dyt, x.unsqueeze(0), 1.0);
    });
    const double ours = gflops(flops, 400, [&] { byteformer::add_weight_gradient(dw, dy, x); });
    fmt::print("{:<44} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f}  {}\n", g.name, blas, transposed, copied, ours,
               pd.impl_info_str());
  }
  byteformer::set_compute_threads(threads);
#endif
  return 0;
}
