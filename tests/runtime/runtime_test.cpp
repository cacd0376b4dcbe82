// Process-wide compute settings: LibTorch's and OpenBLAS's thread counts move together, and the
// BLAS under LibTorch is the optimised one.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <torch/version.h>

#include "byteformer/runtime/runtime.h"

namespace byteformer {
namespace {

// Debian's LibTorch 1.13 multiplies through the system's libblas.so.3 (OpenBLAS); a pip
// LibTorch 2.x links MKL into itself, with no thread count of its own to set.
constexpr bool kOpenBlas = TORCH_VERSION_MAJOR < 2;

int openblas_threads() {
  auto get = reinterpret_cast<int (*)()>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get != nullptr ? get() : -1;
}

TEST(Runtime, LibTorchMultipliesThroughOpenBlas) {
  // scripts/setup.sh selects OpenBLAS for Debian's libblas.so.3 alternative; the reference BLAS
  // would be 10-20x slower and export none of OpenBLAS's symbols.
  const std::string blas = blas_description();
  if (kOpenBlas)
    EXPECT_EQ(blas.rfind("OpenBLAS", 0), 0u) << blas;
  else
    EXPECT_EQ(blas, "LibTorch's own (BLAS_INFO=mkl)");
  auto a = torch::randn({64, 64}, torch::kDouble), b = torch::randn({64, 64}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(torch::mm(a, b), (a.unsqueeze(2) * b.unsqueeze(0)).sum(1), 1e-12, 1e-12));
}

TEST(Runtime, ThreadCountsOfLibTorchAndOpenBlasMoveTogether) {
  const int before = torch::get_num_threads();
  EXPECT_EQ(set_compute_threads(1), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  if (kOpenBlas) EXPECT_EQ(openblas_threads(), 1);
  EXPECT_EQ(set_compute_threads(2), 2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  if (kOpenBlas) EXPECT_EQ(openblas_threads(), 2);
  const int all = set_compute_threads(0);  // 0: every core
  EXPECT_GE(all, 1);
  EXPECT_EQ(torch::get_num_threads(), all);
  set_compute_threads(before);
}

TEST(Runtime, OpenBlasKernelsAreChosenOnlyWhereItFellBackToItsGenericOnes) {
  // Detection fell back ("Prescott", any case): the best kernels the CPU runs.
  EXPECT_EQ(openblas_coretype_for("Prescott", /*avx512=*/true, /*avx2_fma=*/true), "SkylakeX");
  EXPECT_EQ(openblas_coretype_for("PRESCOTT", /*avx512=*/false, /*avx2_fma=*/true), "Haswell");
  EXPECT_EQ(openblas_coretype_for("prescott", /*avx512=*/false, /*avx2_fma=*/false), "");
  // OpenBLAS knew the CPU: its choice stands.
  EXPECT_EQ(openblas_coretype_for("Cooperlake", true, true), "");
  EXPECT_EQ(openblas_coretype_for("Haswell", true, true), "");
  EXPECT_EQ(openblas_coretype_for("", true, true), "");
}

}  // namespace
}  // namespace byteformer
