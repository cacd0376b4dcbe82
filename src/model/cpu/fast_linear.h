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

/// out (M, N) = epilogue(x (M, K) W^T + bias) for weight (N, K) contiguous and bias (N) or
/// undefined. x and out are CPU tensors of the weight's dtype with unit column stride (rows may
/// be strided, as slices of a wider tensor are); out must not overlap x. No autograd.
///
/// A bfloat16 weight with float32 x, out and bias asks for bf16 products (bf16_products()):
/// each chunk of x rounded to bfloat16 (to nearest even), the products accumulated in float32,
/// the bias and the epilogue applied in float32 (CPU autocast's numbers for a linear layer,
/// without its bfloat16 output).
///
/// float32 goes through oneDNN (brgemm kernels) when the build has it and it is enabled: on
/// this project's 2-core AVX-512 machine it multiplies the model's shapes 3-20% faster than
/// OpenBLAS does (256-row chunks on one thread: 9-11%; whole layers on two threads: 3-20%;
/// bench/bench_linear measures both), and fuses the epilogue. Anything else (float64, oneDNN off or unavailable)
/// runs ATen's addmm and the epilogue as a second pass: the same numbers up to float rounding.
/// Called inside at::parallel_for (parallel_tasks), the product runs on the calling thread;
/// outside, on LibTorch's intra-op threads.
void linear_into(torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
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

/// The weight for linear_into at a precision: `weight` itself (contiguous) for float32, or a
/// bfloat16 copy kept until the weight changes (its data, its version counter). One per layer;
/// not for concurrent use.
class ProductWeight {
 public:
  torch::Tensor get(const torch::Tensor& weight, bool bf16);

 private:
  torch::Tensor copy_;
  const void* data_ = nullptr;
  int64_t version_ = -1;
};

}  // namespace byteformer
