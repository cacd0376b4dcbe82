// Linear layers of the CPU inference paths through oneDNN's matrix-product kernels, with the
// bias, the GELU or the residual add done while each output tile is in registers.
#pragma once
#include <torch/torch.h>

#include "byteformer/runtime/runtime.h"

namespace byteformer {

/// What happens to y = x W^T + b before it is stored in `out`.
enum class LinearEpilogue {
  kStore,       ///< out = y
  kGelu,        ///< out = gelu(y), exact (erf) GELU as CoreNet's `gelu`
  kAccumulate,  ///< out += y (a residual added in place)
};

/// A linear layer's weight as linear_into takes it: float32, float64 or bfloat16 (N, K) as it
/// is, or int8 (quantize_weight): `weight` (N, K) int8 with W[n] ~ scales[n] * weight[n]
/// (symmetric, one scale per output channel), `sums` (N) int32, the sum of each row (what an
/// activation's zero point takes off the s32 sums), and with oneDNN `packed`, the same values
/// reordered once into the layout oneDNN's int8 kernels read (not repacked at every product).
struct LinearWeight {
  LinearWeight(torch::Tensor w) : weight(std::move(w)) {}  // NOLINT: a plain weight converts
  LinearWeight() = default;
  torch::Tensor weight;  // (N, K)
  torch::Tensor scales;  // (N) float32, int8 only
  torch::Tensor sums;    // (N) int32, int8 only
  torch::Tensor packed;  // uint8 bytes in oneDNN's layout, int8 with oneDNN only
  bool int8() const { return weight.defined() && weight.scalar_type() == torch::kChar; }
};

/// W (N, K) float32 as int8 per output channel: scales[n] = max_k |W[n, k]| / 127 (1 for a row of
/// zeros), weight[n, k] = round(W[n, k] / scales[n]) in [-127, 127], to nearest even: every weight
/// within half a step (scales[n] / 2) of its value.
LinearWeight quantize_weight(const torch::Tensor& weight);

/// Rows of activations as u8 with a scale and zero point per row (asymmetric, so that 0 is
/// exact): for row m with lo = min(0, min x), hi = max(0, max x), scale = (hi - lo) / 255 (1 for a
/// row of zeros), zero = round(-lo / scale), q = clamp(round(x / scale) + zero, 0, 255); every value
/// within half a step of scale * (q - zero).
struct QuantizedRows {
  torch::Tensor values;       // (M, K) uint8
  torch::Tensor scales;       // (M) float32
  torch::Tensor zero_points;  // (M) int32
};
QuantizedRows quantize_rows(const torch::Tensor& x);

/// The s32 sums (M, N) of q (M, K) uint8 times w's int8 weight^T, as linear_into's int8 products
/// compute them (oneDNN, u8 x s8 with s32 accumulation, in kChunkRows-row chunks): for tests.
torch::Tensor int8_sums(const torch::Tensor& q, const LinearWeight& w);

/// Whether linear_into runs int8 products: oneDNN enabled and a CPU whose u8 x s8 products oneDNN
/// runs on VNNI (AVX512-VNNI or AVX-VNNI), which sums them in s32 exactly. Without VNNI oneDNN's
/// int8 kernels pair products in saturating 16-bit sums and run no faster than float32.
bool int8_products();
/// Empty when int8_products(); otherwise why not, for an error message.
std::string int8_products_missing();

/// oneDNN's version as it reports itself ("2.6.3"); empty in a build without oneDNN.
std::string onednn_version();

/// The CPU as the products see it, in one line: /proc/cpuinfo's model name, the flags that
/// decide narrow products (avx512_bf16, avx512_vnni, avx_vnni, amx_*), and oneDNN's ISA.
std::string cpu_description();

/// out (M, N) = epilogue(x (M, K) W^T + bias) for weight (N, K) contiguous and bias (N) or
/// undefined. x and out are CPU tensors of the weight's dtype with unit column stride (rows may
/// be strided, as slices of a wider tensor are); out must not overlap x. No autograd.
///
/// A bfloat16 weight with float32 x, out and bias asks for bf16 products (bf16_products()):
/// each chunk of x rounded to bfloat16 (to nearest even), the products accumulated in float32,
/// the bias and the epilogue applied in float32 (CPU autocast's numbers for a linear layer,
/// without its bfloat16 output).
///
/// An int8 weight (quantize_weight) asks for int8 products (int8_products()), with float32 x, out
/// and bias: each row of x quantized to u8 with a scale and zero point of its own (quantize_rows;
/// a row's result does not depend on the others), u8 x s8 products summed in s32, then in float32
/// y = scale_x[m] scales[n] (s32 - zero[m] sums[n]) + bias, and the epilogue.
///
/// float32 goes through oneDNN (brgemm kernels) when the build has it and it is enabled: on
/// this project's 2-core AVX-512 machine it multiplies the model's shapes 3-20% faster than
/// OpenBLAS does (256-row chunks on one thread: 9-11%; whole layers on two threads: 3-20%;
/// bench/bench_linear measures both), and fuses the epilogue. Anything else (float64, oneDNN off or unavailable)
/// runs ATen's addmm and the epilogue as a second pass: the same numbers up to float rounding.
/// Called inside at::parallel_for (parallel_tasks), the product runs on the calling thread;
/// outside, on LibTorch's intra-op threads.
void linear_into(torch::Tensor& out, const torch::Tensor& x, const LinearWeight& weight, const torch::Tensor& bias,
                 LinearEpilogue epilogue);

/// dw (N, K) += dy (M, N)^T x (M, K) in place (dw a handle to the sums, as a slice of the
/// training functions' per-group partials): a linear layer's weight gradient over M rows, on the
/// calling thread (no autograd). float32 with a contiguous dw and rows of unit column stride goes
/// through oneDNN when enabled, reading dy transposed in place, in products of up to 1,024 rows
/// (a multiple of 64; the last rows through zero-padded copies), added in row order: the sum does
/// not depend on the thread. Otherwise ATen's addmm_.
void add_weight_gradient(torch::Tensor dw, const torch::Tensor& dy, const torch::Tensor& x);

/// out (n, M, N) = alpha * a (n, M, K) b (n, K, N) for strided CPU tensors of one dtype (no
/// autograd; inside at::parallel_for on the calling thread): the attention's per-window products, read straight from the
/// qkv rows (q, v: row stride 3C; k^T: column stride 3C), with the 1/sqrt(d) of the scores as
/// alpha. float32 through oneDNN when enabled and the layouts allow (unit inner stride of a and
/// out, of b's rows or columns), otherwise ATen's bmm then the scaling.
void batched_matmul_into(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b, double alpha);

/// Whether linear_into runs bf16 products: oneDNN enabled and a CPU with native bf16 arithmetic
/// (AVX512-BF16 or AMX, as oneDNN reports it); elsewhere a bf16 product would be emulated.
bool bf16_products();

/// The weight for linear_into at a precision: `weight` itself (contiguous) for float32; a
/// bfloat16 copy for bf16; under int8 inference (precision.h's Int8InferenceGuard, in the calling
/// thread) an int8 copy (quantize_weight) of a float32 weight. Copies are kept until the weight
/// changes (its data, its version counter). One per layer; not for concurrent use.
class ProductWeight {
 public:
  LinearWeight get(const torch::Tensor& weight, bool bf16);

 private:
  LinearWeight copy_;
  const void* data_ = nullptr;
  int64_t version_ = -1;
  int kind_ = 0;  // what copy_ holds: 1 a bfloat16 copy, 2 an int8 one
};

}  // namespace byteformer
