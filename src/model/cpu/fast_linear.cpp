#include "model/cpu/fast_linear.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <mutex>
#include <string>
#include <vector>

#include "byteformer/model/precision.h"
#include "model/cpu/cpu_parallel.h"
#include "model/cpu/gelu.h"
#include "model/cpu/quantize.h"

#ifdef BYTEFORMER_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace byteformer {

namespace {

// Rows per product: a (256, 768) float32 activation is 768 KB, inside one core's L2, and the
// FFN's chunks measured fastest at 256 rows in both BLASes (128: -6% for oneDNN, 512: -3%).
constexpr int64_t kChunkRows = 256;

// fn(r0, r1) over the rows [0, M) in chunks of kChunkRows: one task a chunk, each product on
// its own thread, unless already inside a parallel region.
template <typename Fn>
void over_row_chunks(int64_t M, const Fn& fn) {
  const int64_t chunks = (M + kChunkRows - 1) / kChunkRows;
  auto chunk = [&](int64_t c) {
    const int64_t r0 = c * kChunkRows;
    fn(r0, std::min(M, r0 + kChunkRows));
  };
  if (chunks > 1 && !at::in_parallel_region()) {
    parallel_tasks(chunks, chunk);
  } else {
    for (int64_t c = 0; c < chunks; ++c) chunk(c);
  }
}

// Rows of add_weight_gradient's products (their inner dimension): multiples of 64 up to 1,024,
// so at most 16 kernels per layer shape. Fixed 256-row products added one after another ran the
// quickstart model's shapes at 0.8-0.9x the rate of one product over the task's rows.
constexpr int64_t kGradRowsStep = 64, kGradMaxRows = 1024;

void aten_linear_into(torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& weight,
                      const torch::Tensor& bias, LinearEpilogue epilogue) {
  const auto wt = weight.t();  // (K, N) view
  if (epilogue == LinearEpilogue::kAccumulate) {
    out.addmm_(x, wt);
    if (bias.defined()) out.add_(bias);
    return;
  }
  if (bias.defined()) {
    at::addmm_out(out, bias, x, wt);
  } else {
    at::mm_out(out, x, wt);
  }
  if (epilogue == LinearEpilogue::kGelu) at::gelu_out(out, out);
}

// ATen's products (no oneDNN: LibTorch 2.x's MKL, or BYTEFORMER_ONEDNN=0) in chunks of exactly
// kChunkRows rows, a shorter one through a zero-padded buffer, as the oneDNN path runs them: a
// BLAS picks its kernel and blocking by M (MKL sums a short product in another order than a
// long one), so without this a file's logits would depend on how many rows share the call,
// i.e. on its batch (the huge preset's batch-invariance test: 1.0014e-5 against 1e-5 on MKL).
void aten_chunked_linear_into(torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, LinearEpilogue epilogue) {
  const int64_t M = x.size(0), K = x.size(1), N = weight.size(0);
  for (int64_t r0 = 0; r0 < M; r0 += kChunkRows) {
    const int64_t r1 = std::min(M, r0 + kChunkRows), m = r1 - r0;
    auto o = out.slice(0, r0, r1);
    const auto xs = x.slice(0, r0, r1);
    if (m == kChunkRows) {
      aten_linear_into(o, xs, weight, bias, epilogue);
      continue;
    }
    auto xp = torch::zeros({kChunkRows, K}, x.options());  // (kChunkRows, K)
    xp.slice(0, 0, m).copy_(xs);
    auto op = epilogue == LinearEpilogue::kAccumulate ? torch::zeros({kChunkRows, N}, out.options())
                                                      : torch::empty({kChunkRows, N}, out.options());
    if (epilogue == LinearEpilogue::kAccumulate) op.slice(0, 0, m).copy_(o);
    aten_linear_into(op, xp, weight, bias, epilogue);
    o.copy_(op.slice(0, 0, m));
  }
}

#ifdef BYTEFORMER_HAVE_ONEDNN

// One oneDNN matmul of kChunkRows rows for each (K, N, row strides, bias, epilogue). Every
// product of linear_into runs as such chunks on one thread (shorter chunks through a padded
// buffer), so the set of kernels stays small whatever the inputs' lengths, and no kernel is
// generated again for a new length.
struct Product {
  dnnl::matmul primitive;
  size_t scratch_bytes = 0;
  dnnl::memory::desc weights;  // the weights' layout the primitive reads (the int8 products' packed one)
};

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The products made so far, by kind and shape; made once (under the lock), then shared by
// every thread (a primitive may run on several threads at once). A few per layer shape.
template <typename Make>
const Product& cached_product(const std::vector<int64_t>& key, const Make& make) {
  static std::mutex mutex;
  static std::map<std::vector<int64_t>, Product> products;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = products.find(key);
  if (it == products.end()) it = products.emplace(key, make()).first;
  return it->second;
}

Product make_product(const dnnl::matmul::desc& desc, dnnl::primitive_attr attr) {
  // The scratchpad comes from the caller's thread: one primitive runs on several threads at once.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
  return Product{dnnl::matmul(pd), pd.scratchpad_desc().get_size(), pd.weights_desc()};
}

const Product& product_for(int64_t K, int64_t N, int64_t ldx, int64_t ldo, bool has_bias, LinearEpilogue epilogue,
                           bool bf16) {
  return cached_product({0, K, N, ldx, ldo, has_bias, static_cast<int64_t>(epilogue), bf16}, [&] {
  using dt = dnnl::memory::data_type;
  const auto in = bf16 ? dt::bf16 : dt::f32;
  const dnnl::memory::desc src({kChunkRows, K}, in, {ldx, 1});
  const dnnl::memory::desc weights({K, N}, in, {1, K});  // W (N, K) row-major is W^T column-major
  const dnnl::memory::desc dst({kChunkRows, N}, dt::f32, {ldo, 1});
  dnnl::post_ops post;
  if (epilogue == LinearEpilogue::kGelu) post.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (epilogue == LinearEpilogue::kAccumulate) post.append_sum(1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(post);
  return make_product(has_bias ? dnnl::matmul::desc(src, weights, dnnl::memory::desc({1, N}, dt::f32, {N, 1}), dst)
                               : dnnl::matmul::desc(src, weights, dst),
                      attr);
  });
}

// Thread-local buffers: the scratchpad, and the padded rows of a short chunk (zeroed when
// allocated, so that the rows past the chunk never hold denormals or NaNs).
struct ThreadBuffers {
  std::vector<uint8_t> scratch;
  std::vector<float> x_rows, out_rows;
  std::vector<c10::BFloat16> x_bf16;  // a chunk of x rounded to bfloat16 (bf16 products)
  std::vector<float> grad_dy, grad_x;  // the padded rows of a short chunk of add_weight_gradient
  std::vector<uint8_t> q_rows;         // a chunk of x as u8 (int8 products)
  std::vector<float> q_scales, gelu_in;
  std::vector<int32_t> q_zeros, sums;
  static float* sized(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.assign(n, 0.f);
    return v.data();
  }
};

ThreadBuffers& thread_buffers() {
  thread_local ThreadBuffers buffers;
  return buffers;
}

// Runs `product` on the calling thread with its scratchpad from the thread's buffer.
void execute(const Product& product, std::unordered_map<int, dnnl::memory>& args) {
  auto& buffers = thread_buffers();
  if (buffers.scratch.size() < product.scratch_bytes + 64) buffers.scratch.resize(product.scratch_bytes + 64);
  auto* scratch = buffers.scratch.data();
  scratch += (64 - reinterpret_cast<uintptr_t>(scratch) % 64) % 64;  // oneDNN wants 64-byte alignment
  const auto& engine = cpu_engine();
  args.insert_or_assign(DNNL_ARG_SCRATCHPAD,
                        dnnl::memory({{static_cast<int64_t>(product.scratch_bytes)}, dnnl::memory::data_type::u8,
                                      dnnl::memory::format_tag::a},
                                     engine, scratch));
  thread_local dnnl::stream stream(engine);
  product.primitive.execute(stream, args);
  stream.wait();
}

// out = epilogue(x W^T + b) for one chunk of kChunkRows rows at x_ptr/out_ptr with row strides
// ldx/ldo, on the calling thread. A bfloat16 weight: the rows are rounded to bfloat16 first.
void run_chunk(float* out_ptr, const float* x_ptr, int64_t ldx, int64_t ldo, const torch::Tensor& weight,
               const torch::Tensor& bias, LinearEpilogue epilogue) {
  const int64_t N = weight.size(0), K = weight.size(1);
  const bool bf16 = weight.scalar_type() == torch::kBFloat16;
  void* src = const_cast<float*>(x_ptr);
  if (bf16) {
    auto& rows = thread_buffers().x_bf16;
    if (rows.size() < static_cast<size_t>(kChunkRows * K)) rows.resize(kChunkRows * K);
    for (int64_t r = 0; r < kChunkRows; ++r)
      for (int64_t c = 0; c < K; ++c) rows[r * K + c] = c10::BFloat16(x_ptr[r * ldx + c]);
    src = rows.data();
    ldx = K;
  }
  const auto& product = product_for(K, N, ldx, ldo, bias.defined(), epilogue, bf16);
  using dt = dnnl::memory::data_type;
  const auto in = bf16 ? dt::bf16 : dt::f32;
  const auto& engine = cpu_engine();
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, dnnl::memory({{kChunkRows, K}, in, {ldx, 1}}, engine, src)},
      {DNNL_ARG_WEIGHTS, dnnl::memory({{K, N}, in, {1, K}}, engine, weight.data_ptr())},
      {DNNL_ARG_DST, dnnl::memory({{kChunkRows, N}, dt::f32, {ldo, 1}}, engine, out_ptr)}};
  if (bias.defined())
    args.emplace(DNNL_ARG_BIAS, dnnl::memory({{1, N}, dt::f32, {N, 1}}, engine, bias.data_ptr<float>()));
  execute(product, args);
}

// Rows [0, M) with M <= kChunkRows: a whole chunk in place, a shorter one through the padded
// thread-local rows.
void onednn_rows(torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                 LinearEpilogue epilogue) {
  const int64_t M = x.size(0), K = x.size(1), N = out.size(1);
  if (M == kChunkRows) {
    run_chunk(out.data_ptr<float>(), x.data_ptr<float>(), x.stride(0), out.stride(0), weight, bias, epilogue);
    return;
  }
  auto& buffers = thread_buffers();
  float* xb = ThreadBuffers::sized(buffers.x_rows, kChunkRows * K);
  float* ob = ThreadBuffers::sized(buffers.out_rows, kChunkRows * N);
  for (int64_t r = 0; r < M; ++r) std::memcpy(xb + r * K, x.data_ptr<float>() + r * x.stride(0), K * sizeof(float));
  if (epilogue == LinearEpilogue::kAccumulate)
    for (int64_t r = 0; r < M; ++r)
      std::memcpy(ob + r * N, out.data_ptr<float>() + r * out.stride(0), N * sizeof(float));
  run_chunk(ob, xb, K, N, weight, bias, epilogue);
  for (int64_t r = 0; r < M; ++r) std::memcpy(out.data_ptr<float>() + r * out.stride(0), ob + r * N, N * sizeof(float));
}

// One matmul per (batch, shapes, strides, alpha): a (n, M, K) b (n, K, N) -> out (n, M, N).
const Product& batched_product_for(const torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b,
                                   float alpha) {
  int32_t alpha_bits = 0;
  std::memcpy(&alpha_bits, &alpha, sizeof alpha_bits);
  std::vector<int64_t> key{1, alpha_bits};
  for (const auto* t : {&a, &b, &out}) {
    key.insert(key.end(), t->sizes().begin(), t->sizes().end());
    key.insert(key.end(), t->strides().begin(), t->strides().end());
  }
  return cached_product(key, [&] {
    using dt = dnnl::memory::data_type;
    auto desc = [](const torch::Tensor& t) { return dnnl::memory::desc(t.sizes().vec(), dt::f32, t.strides().vec()); };
    dnnl::primitive_attr attr;
    if (alpha != 1.f) attr.set_output_scales(0, {alpha});
    return make_product(dnnl::matmul::desc(desc(a), desc(b), desc(out)), attr);
  });
}

// dW (N, K) += dY^T X over R rows (a multiple of kGradRowsStep): dY (R, N) read as its
// transpose in place, X (R, K), both with the given row strides.
const Product& weight_gradient_product_for(int64_t R, int64_t N, int64_t K, int64_t ldy, int64_t ldx) {
  return cached_product({2, R, N, K, ldy, ldx}, [&] {
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc src({N, R}, dt::f32, {1, ldy});
    const dnnl::memory::desc weights({R, K}, dt::f32, {ldx, 1});
    const dnnl::memory::desc dst({N, K}, dt::f32, {K, 1});
    dnnl::post_ops post;
    post.append_sum(1.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    return make_product(dnnl::matmul::desc(src, weights, dst), attr);
  });
}

void run_weight_gradient(float* dw, const float* dy, int64_t ldy, const float* x, int64_t ldx, int64_t R, int64_t N,
                         int64_t K) {
  const auto& product = weight_gradient_product_for(R, N, K, ldy, ldx);
  using dt = dnnl::memory::data_type;
  const auto& engine = cpu_engine();
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, dnnl::memory({{N, R}, dt::f32, {1, ldy}}, engine, const_cast<float*>(dy))},
      {DNNL_ARG_WEIGHTS, dnnl::memory({{R, K}, dt::f32, {ldx, 1}}, engine, const_cast<float*>(x))},
      {DNNL_ARG_DST, dnnl::memory({{N, K}, dt::f32, {K, 1}}, engine, dw)}};
  execute(product, args);
}

// The int8 product of kChunkRows rows: u8 rows (K contiguous) x s8 weights in the layout the
// primitive chose (format `any`: packed once by quantize_weight), s32 sums (N contiguous). One
// per (K, N): the rows always come from the thread's buffers.
const Product& int8_product_for(int64_t K, int64_t N) {
  return cached_product({3, K, N}, [&] {
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc src({kChunkRows, K}, dt::u8, {K, 1});
    const dnnl::memory::desc weights({K, N}, dt::s8, dnnl::memory::format_tag::any);
    const dnnl::memory::desc dst({kChunkRows, N}, dt::s32, {N, 1});
    return make_product(dnnl::matmul::desc(src, weights, dst), dnnl::primitive_attr());
  });
}

// values (N, K) int8 row-major reordered into int8_product_for(K, N)'s weights layout.
torch::Tensor pack_int8_weight(const torch::Tensor& values) {
  const int64_t N = values.size(0), K = values.size(1);
  const auto& product = int8_product_for(K, N);
  auto packed = torch::empty({static_cast<int64_t>(product.weights.get_size())}, torch::kByte);
  const auto& engine = cpu_engine();
  dnnl::memory from({{K, N}, dnnl::memory::data_type::s8, {1, K}}, engine, values.data_ptr());
  dnnl::memory to(product.weights, engine, packed.data_ptr());
  dnnl::stream stream(engine);
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return packed;
}

// sums (kChunkRows, N) = q (kChunkRows, K) u8 x the packed weights, s32, on the calling thread.
void run_int8_chunk(int32_t* sums, const uint8_t* q, int64_t K, int64_t N, const torch::Tensor& packed) {
  const auto& product = int8_product_for(K, N);
  using dt = dnnl::memory::data_type;
  const auto& engine = cpu_engine();
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, dnnl::memory({{kChunkRows, K}, dt::u8, {K, 1}}, engine, const_cast<uint8_t*>(q))},
      {DNNL_ARG_WEIGHTS, dnnl::memory(product.weights, engine, packed.data_ptr())},
      {DNNL_ARG_DST, dnnl::memory({{kChunkRows, N}, dt::s32, {N, 1}}, engine, sums)}};
  execute(product, args);
}

// Rows [0, M) of x with M <= kChunkRows through the int8 product: each row quantized on its
// own, the s32 sums of the whole (padded) chunk, then each row back to float32 with its epilogue.
void int8_rows(torch::Tensor& out, const torch::Tensor& x, const LinearWeight& w, const torch::Tensor& bias,
               LinearEpilogue epilogue) {
  const int64_t M = x.size(0), K = x.size(1), N = out.size(1);
  auto& buffers = thread_buffers();
  if (buffers.q_rows.size() < static_cast<size_t>(kChunkRows * K)) buffers.q_rows.assign(kChunkRows * K, 0);
  if (buffers.sums.size() < static_cast<size_t>(kChunkRows * N)) buffers.sums.resize(kChunkRows * N);
  if (buffers.q_scales.size() < static_cast<size_t>(kChunkRows)) buffers.q_scales.resize(kChunkRows);
  if (buffers.q_zeros.size() < static_cast<size_t>(kChunkRows)) buffers.q_zeros.resize(kChunkRows);
  if (buffers.gelu_in.size() < static_cast<size_t>(N)) buffers.gelu_in.resize(N);
  const float* x_p = x.data_ptr<float>();
  for (int64_t r = 0; r < M; ++r)
    quantize_row_u8(x_p + r * x.stride(0), K, buffers.q_rows.data() + r * K, &buffers.q_scales[r], &buffers.q_zeros[r]);
  // Rows past M hold whatever an earlier chunk left: integers, whose sums are not read.
  run_int8_chunk(buffers.sums.data(), buffers.q_rows.data(), K, N, w.packed);
  const float* w_scales = w.scales.data_ptr<float>();
  const int32_t* w_sums = w.sums.data_ptr<int32_t>();
  const float* b = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* out_p = out.data_ptr<float>();
  for (int64_t r = 0; r < M; ++r) {
    float* y = out_p + r * out.stride(0);
    const int32_t* acc = buffers.sums.data() + r * N;
    if (epilogue == LinearEpilogue::kGelu) {
      dequantize_row(buffers.gelu_in.data(), acc, N, buffers.q_scales[r], buffers.q_zeros[r], w_scales, w_sums, b,
                     /*accumulate=*/false);
      gelu_forward(y, buffers.gelu_in.data(), N);
    } else {
      dequantize_row(y, acc, N, buffers.q_scales[r], buffers.q_zeros[r], w_scales, w_sums, b,
                     epilogue == LinearEpilogue::kAccumulate);
    }
  }
}

#endif  // BYTEFORMER_HAVE_ONEDNN

}  // namespace

bool bf16_products() {
#ifdef BYTEFORMER_HAVE_ONEDNN
  static const bool native = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;  // the ISA values nest: AMX includes AVX512-BF16
  }();
  return native && onednn_enabled();
#else
  return false;
#endif
}

bool int8_products() { return int8_products_missing().empty(); }

std::string int8_products_missing() {
#ifdef BYTEFORMER_HAVE_ONEDNN
  static const bool vnni = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto avx512_vnni = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_vnni);
    const auto avx2_vnni = static_cast<unsigned>(dnnl::cpu_isa::avx2_vnni);
    return (isa & avx512_vnni) == avx512_vnni || (isa & avx2_vnni) == avx2_vnni;  // the ISA values nest
  }();
  if (!onednn_enabled()) return "int8 products need oneDNN, which is switched off (BYTEFORMER_ONEDNN=0)";
  if (!vnni) return "int8 products need a CPU with VNNI (AVX512-VNNI or AVX-VNNI); this one: " + cpu_description();
  return {};
#else
  return "int8 products need oneDNN, and this build has none (BYTEFORMER_WITH_ONEDNN=OFF or not found)";
#endif
}

std::string onednn_version() {
#ifdef BYTEFORMER_HAVE_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
#else
  return {};
#endif
}

std::string cpu_description() {
  std::string model = "unknown CPU", flags;
  std::ifstream cpuinfo("/proc/cpuinfo");
  bool have_model = false, have_flags = false;
  for (std::string line; (!have_model || !have_flags) && std::getline(cpuinfo, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
    if (key == "model name" && !have_model) {
      model = value;
      have_model = true;
    } else if (key == "flags" && !have_flags) {
      std::istringstream words(value);
      for (std::string f; words >> f;)
        if (f == "avx512_bf16" || f == "avx512_vnni" || f == "avx_vnni" || f.rfind("amx", 0) == 0)
          flags += (flags.empty() ? "" : " ") + f;
      have_flags = true;
    }
  }
  std::string isa = "none (built without oneDNN)";
#ifdef BYTEFORMER_HAVE_ONEDNN
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "older than avx2"; break;
  }
#endif
  return model + "; flags: " + (flags.empty() ? "no bf16, VNNI or AMX" : flags) + "; oneDNN ISA: " + isa;
}

LinearWeight quantize_weight(const torch::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 2 && weight.scalar_type() == torch::kFloat && weight.device().is_cpu(),
              "quantize_weight: expected a float32 (N, K) CPU weight, got ", weight.sizes(), " ", weight.scalar_type());
  torch::NoGradGuard no_grad;
  auto scales = weight.abs().amax(1) / 127.0;  // (N)
  scales.masked_fill_(scales == 0, 1.0);
  LinearWeight q;
  q.weight = torch::round(weight / scales.unsqueeze(1)).clamp_(-127, 127).to(torch::kChar).contiguous();  // (N, K)
  q.scales = scales.contiguous();
  q.sums = q.weight.sum(1, /*keepdim=*/false, torch::kInt).contiguous();  // (N)
#ifdef BYTEFORMER_HAVE_ONEDNN
  q.packed = pack_int8_weight(q.weight);
#endif
  return q;
}

QuantizedRows quantize_rows(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == torch::kFloat && x.device().is_cpu(),
              "quantize_rows: expected float32 (M, K) CPU rows, got ", x.sizes(), " ", x.scalar_type());
  const auto xc = x.contiguous();
  const int64_t M = x.size(0), K = x.size(1);
  QuantizedRows q{torch::empty({M, K}, torch::kByte), torch::empty({M}, torch::kFloat), torch::empty({M}, torch::kInt)};
  for (int64_t r = 0; r < M; ++r)
    quantize_row_u8(xc.data_ptr<float>() + r * K, K, q.values.data_ptr<uint8_t>() + r * K,
                    q.scales.data_ptr<float>() + r, q.zero_points.data_ptr<int32_t>() + r);
  return q;
}

torch::Tensor int8_sums(const torch::Tensor& q, const LinearWeight& w) {
  TORCH_CHECK(int8_products(), "int8_sums: ", int8_products_missing());
  TORCH_CHECK(w.int8() && q.dim() == 2 && q.scalar_type() == torch::kByte && q.size(1) == w.weight.size(1),
              "int8_sums: expected uint8 (M, K) rows and an int8 (N, K) weight, got ", q.sizes(), " and ",
              w.weight.sizes());
  const int64_t M = q.size(0), K = q.size(1), N = w.weight.size(0);
  auto out = torch::empty({M, N}, torch::kInt);
#ifdef BYTEFORMER_HAVE_ONEDNN
  const auto qc = q.contiguous();
  std::vector<uint8_t> rows(kChunkRows * K, 0);
  std::vector<int32_t> sums(kChunkRows * N);
  for (int64_t r0 = 0; r0 < M; r0 += kChunkRows) {
    const int64_t m = std::min(kChunkRows, M - r0);
    std::memcpy(rows.data(), qc.data_ptr<uint8_t>() + r0 * K, m * K);
    run_int8_chunk(sums.data(), rows.data(), K, N, w.packed);
    std::memcpy(out.data_ptr<int32_t>() + r0 * N, sums.data(), m * N * sizeof(int32_t));
  }
#endif
  return out;
}

LinearWeight ProductWeight::get(const torch::Tensor& weight, bool bf16) {
  const int kind = bf16 ? 1 : (int8_inference_enabled() && weight.scalar_type() == torch::kFloat && weight.dim() == 2 &&
                               weight.device().is_cpu())
                                  ? 2
                                  : 0;
  if (kind == 0) {
    copy_ = LinearWeight();
    kind_ = 0;
    return weight.contiguous();
  }
  const int64_t version = static_cast<int64_t>(weight._version());
  if (kind_ != kind || !copy_.weight.defined() || data_ != weight.data_ptr() || version_ != version) {
    copy_ = kind == 1 ? LinearWeight(weight.to(torch::kBFloat16).contiguous()) : quantize_weight(weight);
    data_ = weight.data_ptr();
    version_ = version;
    kind_ = kind;
  }
  return copy_;
}

namespace {

void int8_linear_into(torch::Tensor& out, const torch::Tensor& x, const LinearWeight& w, const torch::Tensor& bias,
                      LinearEpilogue epilogue) {
  const int64_t N = w.weight.size(0), K = w.weight.size(1), M = x.size(0);
  TORCH_CHECK(x.dim() == 2 && x.size(1) == K && (M <= 1 || x.stride(1) == 1) && x.scalar_type() == torch::kFloat &&
                  x.device().is_cpu(),
              "linear_into: expected float32 x (M, ", K, ") with unit column stride for an int8 weight, got ",
              x.sizes(), " ", x.scalar_type());
  TORCH_CHECK(out.dim() == 2 && out.size(0) == M && out.size(1) == N && out.stride(1) == 1 &&
                  out.scalar_type() == torch::kFloat && out.device().is_cpu(),
              "linear_into: expected float32 out (", M, ", ", N, ") with unit column stride, got ", out.sizes());
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == N && bias.is_contiguous() &&
                                  bias.scalar_type() == torch::kFloat),
              "linear_into: expected a contiguous float32 bias (", N, "), got ", bias.sizes());
  TORCH_CHECK(w.scales.defined() && w.scales.numel() == N && w.sums.defined() && w.sums.numel() == N,
              "linear_into: an int8 weight without its scales and sums (quantize_weight makes them)");
  TORCH_CHECK(int8_products(), "linear_into: ", int8_products_missing());
  if (M == 0) return;
#ifdef BYTEFORMER_HAVE_ONEDNN
  TORCH_CHECK(w.packed.defined(), "linear_into: an int8 weight without its packed copy (quantize_weight makes it)");
  over_row_chunks(M, [&](int64_t r0, int64_t r1) {
    auto o = out.slice(0, r0, r1);
    int8_rows(o, x.slice(0, r0, r1), w, bias, epilogue);
  });
#endif
}

}  // namespace

void linear_into(torch::Tensor& out, const torch::Tensor& x, const LinearWeight& linear_weight,
                 const torch::Tensor& bias, LinearEpilogue epilogue) {
  TORCH_CHECK(linear_weight.weight.defined(), "linear_into: no weight");
  if (linear_weight.int8()) {
    TORCH_CHECK(!torch::GradMode::is_enabled() || !x.requires_grad(), "linear_into: no autograd (inference only)");
    int8_linear_into(out, x, linear_weight, bias, epilogue);
    return;
  }
  const torch::Tensor& weight = linear_weight.weight;
  TORCH_CHECK(!torch::GradMode::is_enabled() || !(x.requires_grad() || weight.requires_grad()),
              "linear_into: no autograd (inference only)");
  TORCH_CHECK(weight.dim() == 2 && weight.is_contiguous(), "linear_into: expected a contiguous (N, K) weight, got ",
              weight.sizes());
  const int64_t N = weight.size(0), K = weight.size(1);
  TORCH_CHECK(x.dim() == 2 && x.size(1) == K && (x.size(0) <= 1 || x.stride(1) == 1),
              "linear_into: expected x (M, ", K, ") with unit column stride, got ", x.sizes(), " strides ",
              x.strides());
  TORCH_CHECK(out.dim() == 2 && out.size(0) == x.size(0) && out.size(1) == N && out.stride(1) == 1,
              "linear_into: expected out (", x.size(0), ", ", N, ") with unit column stride, got ", out.sizes());
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == N && bias.is_contiguous()),
              "linear_into: expected a contiguous bias (", N, "), got ", bias.sizes());
  const bool bf16 = weight.scalar_type() == torch::kBFloat16;
  const auto io = bf16 ? torch::kFloat : weight.scalar_type();  // x, out and bias
  TORCH_CHECK(x.device().is_cpu() && out.device().is_cpu() && weight.device().is_cpu() && x.scalar_type() == io &&
                  out.scalar_type() == io && (!bias.defined() || bias.scalar_type() == io),
              "linear_into: expected CPU tensors of one dtype (float32 x, out and bias for a bfloat16 weight)");
  TORCH_CHECK(!bf16 || bf16_products(), "linear_into: bf16 products need oneDNN on a CPU with bf16 arithmetic");
  const int64_t M = x.size(0);
  if (M == 0) return;
#ifdef BYTEFORMER_HAVE_ONEDNN
  if (onednn_enabled() && (bf16 || weight.scalar_type() == torch::kFloat) && x.stride(1) == 1) {
    over_row_chunks(M, [&](int64_t r0, int64_t r1) {
      auto o = out.slice(0, r0, r1);
      onednn_rows(o, x.slice(0, r0, r1), weight, bias, epilogue);
    });
    return;
  }
#endif
  aten_chunked_linear_into(out, x, weight, bias, epilogue);
}

void add_weight_gradient(torch::Tensor dw, const torch::Tensor& dy, const torch::Tensor& x) {
  TORCH_CHECK(dy.dim() == 2 && x.dim() == 2 && dy.size(0) == x.size(0) && dw.dim() == 2 &&
                  dw.size(0) == dy.size(1) && dw.size(1) == x.size(1),
              "add_weight_gradient: expected dw (N, K) += dy (M, N)^T x (M, K), got dw ", dw.sizes(), ", dy ",
              dy.sizes(), ", x ", x.sizes());
  TORCH_CHECK(dw.device().is_cpu() && dy.device().is_cpu() && x.device().is_cpu() &&
                  dy.scalar_type() == dw.scalar_type() && x.scalar_type() == dw.scalar_type(),
              "add_weight_gradient: expected CPU tensors of one dtype");
  const int64_t M = dy.size(0), N = dw.size(0), K = dw.size(1);
  if (M == 0) return;
#ifdef BYTEFORMER_HAVE_ONEDNN
  // oneDNN reads the rows with unit column stride (a row stride of its own each).
  if (onednn_enabled() && dw.scalar_type() == torch::kFloat && dw.is_contiguous() && (N == 1 || dy.stride(1) == 1) &&
      (K == 1 || x.stride(1) == 1)) {
    const float *dy_p = dy.data_ptr<float>(), *x_p = x.data_ptr<float>();
    const int64_t ldy = dy.stride(0), ldx = x.stride(0), full = M / kGradRowsStep * kGradRowsStep;
    float* dw_p = dw.data_ptr<float>();
    for (int64_t r0 = 0; r0 < full; r0 += kGradMaxRows) {
      const int64_t R = std::min(kGradMaxRows, full - r0);
      run_weight_gradient(dw_p, dy_p + r0 * ldy, ldy, x_p + r0 * ldx, ldx, R, N, K);
    }
    if (full < M) {
      // The last rows through zero-padded copies: the padding adds nothing to the sums.
      auto& buffers = thread_buffers();
      float* dyb = ThreadBuffers::sized(buffers.grad_dy, kGradRowsStep * N);
      float* xb = ThreadBuffers::sized(buffers.grad_x, kGradRowsStep * K);
      const int64_t m = M - full;
      for (int64_t r = 0; r < m; ++r) {
        std::memcpy(dyb + r * N, dy_p + (full + r) * ldy, N * sizeof(float));
        std::memcpy(xb + r * K, x_p + (full + r) * ldx, K * sizeof(float));
      }
      std::memset(dyb + m * N, 0, (kGradRowsStep - m) * N * sizeof(float));
      std::memset(xb + m * K, 0, (kGradRowsStep - m) * K * sizeof(float));
      run_weight_gradient(dw_p, dyb, N, xb, K, kGradRowsStep, N, K);
    }
    return;
  }
#endif
  dw.addmm_(dy.t(), x);
}

void batched_matmul_into(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b, double alpha) {
  const int64_t r = a.dim();
  TORCH_CHECK((r == 3 || r == 4) && b.dim() == r && out.dim() == r && b.size(0) == a.size(0) &&
                  out.size(0) == a.size(0) && (r == 3 || (b.size(1) == a.size(1) && out.size(1) == a.size(1))) &&
                  b.size(r - 2) == a.size(r - 1) && out.size(r - 2) == a.size(r - 2) && out.size(r - 1) == b.size(r - 1),
              "batched_matmul_into: expected (n, [H,] M, K) x (n, [H,] K, N) -> (n, [H,] M, N), got ", a.sizes(), " x ",
              b.sizes(), " -> ", out.sizes());
  TORCH_CHECK(a.device().is_cpu() && a.scalar_type() == b.scalar_type() && a.scalar_type() == out.scalar_type(),
              "batched_matmul_into: expected CPU tensors of one dtype");
  if (out.numel() == 0) return;
#ifdef BYTEFORMER_HAVE_ONEDNN
  // oneDNN's kernels read rows or columns with unit stride (the layouts of the attention's q, k^T,
  // v slices); anything else goes to ATen. Two batch dimensions (windows, heads) go to oneDNN as
  // one product, whatever their strides: one call for all heads of a few windows.
  const bool unit_inner_b = b.stride(r - 1) == 1 || b.stride(r - 2) == 1;
  if (onednn_enabled() && a.scalar_type() == torch::kFloat && a.size(r - 2) > 1 && a.size(r - 1) > 1 &&
      b.size(r - 1) > 1 && a.stride(r - 1) == 1 && out.stride(r - 1) == 1 && unit_inner_b) {
    const auto& product = batched_product_for(out, a, b, static_cast<float>(alpha));
    const auto& engine = cpu_engine();
    auto desc = [](const torch::Tensor& t) {
      return dnnl::memory::desc(t.sizes().vec(), dnnl::memory::data_type::f32, t.strides().vec());
    };
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, dnnl::memory(desc(a), engine, a.data_ptr<float>())},
        {DNNL_ARG_WEIGHTS, dnnl::memory(desc(b), engine, b.data_ptr<float>())},
        {DNNL_ARG_DST, dnnl::memory(desc(out), engine, out.data_ptr<float>())}};
    execute(product, args);
    return;
  }
#endif
  if (r == 4) {
    for (int64_t h = 0; h < a.size(1); ++h) {
      auto o = out.select(1, h);
      batched_matmul_into(o, a.select(1, h), b.select(1, h), alpha);
    }
    return;
  }
  at::bmm_out(out, a, b);
  if (alpha != 1.0) out.mul_(alpha);
}

}  // namespace byteformer
