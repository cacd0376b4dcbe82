// linear_into (fast_linear.h) against a float64 reference and against ATen's path: every
// epilogue, strided rows, short and long inputs, inside and outside a parallel region.
#include "model/cpu/fast_linear.h"

#include <gtest/gtest.h>

#include "model/cpu/cpu_parallel.h"
#include "scoped_onednn.h"
#include "test_util.h"

namespace byteformer {
namespace {

using test::ScopedOneDnn;

torch::Tensor reference(const torch::Tensor& start, const torch::Tensor& x, const torch::Tensor& w,
                        const torch::Tensor& b, LinearEpilogue e) {
  auto y = torch::matmul(x.to(torch::kDouble), w.to(torch::kDouble).t());
  if (b.defined()) y = y + b.to(torch::kDouble);
  if (e == LinearEpilogue::kGelu) y = torch::gelu(y);
  if (e == LinearEpilogue::kAccumulate) y = y + start.to(torch::kDouble);
  return y;
}

struct Case {
  int64_t M, K, N;
  bool bias;
  LinearEpilogue epilogue;
};

class FastLinear : public ::testing::TestWithParam<std::tuple<Case, bool, torch::ScalarType>> {};

TEST_P(FastLinear, MatchesTheReference) {
  const auto [c, onednn, dtype] = GetParam();
  const ScopedOneDnn switch_(onednn);
  const test::ScopedThreads two_threads(2);
  torch::manual_seed(c.M * 7 + c.K);
  const auto opts = torch::TensorOptions().dtype(dtype);
  // x and out as column slices of wider tensors: row strides other than their widths.
  auto x_wide = torch::randn({c.M, c.K + 5}, opts);
  auto x = x_wide.slice(1, 2, 2 + c.K);  // (M, K), row stride K + 5
  auto w = torch::randn({c.N, c.K}, opts) * (1.0 / std::sqrt(static_cast<double>(c.K)));
  auto b = c.bias ? torch::randn({c.N}, opts) : torch::Tensor();
  auto out_wide = torch::randn({c.M, c.N + 3}, opts);
  auto out = out_wide.slice(1, 1, 1 + c.N);  // (M, N), row stride N + 3
  const auto start = out.clone();
  const auto untouched = out_wide.slice(1, 0, 1).clone();
  const auto expected = reference(start, x, w, b, c.epilogue);
  {
    c10::InferenceMode guard;
    linear_into(out, x, w, b, c.epilogue);
  }
  // float32: K products of unit-scale terms, summed in another order than float64's.
  const double tol = dtype == torch::kDouble ? 1e-12 : 2e-5;
  EXPECT_LE((out.to(torch::kDouble) - expected).abs().max().item<double>(), tol);
  EXPECT_TRUE(torch::equal(out_wide.slice(1, 0, 1), untouched)) << "wrote outside out";

  // The same product split over a parallel region (each piece on its own worker thread).
  auto out2 = start.clone();
  {
    c10::InferenceMode guard;
    const int64_t pieces = 3, step = (c.M + pieces - 1) / pieces;
    parallel_tasks(pieces, [&](int64_t t) {
      const int64_t r0 = std::min(c.M, t * step), r1 = std::min(c.M, (t + 1) * step);
      if (r0 == r1) return;
      auto o = out2.slice(0, r0, r1);
      linear_into(o, x.slice(0, r0, r1), w, b, c.epilogue);
    });
  }
  EXPECT_LE((out2.to(torch::kDouble) - expected).abs().max().item<double>(), tol);
}

const Case kCases[] = {
    {1, 16, 8, true, LinearEpilogue::kStore},          // one row
    {7, 192, 576, true, LinearEpilogue::kStore},       // a short chunk (padded rows)
    {256, 192, 768, true, LinearEpilogue::kGelu},      // exactly one chunk
    {300, 768, 192, true, LinearEpilogue::kAccumulate},  // a chunk and a short one
    {1000, 384, 192, false, LinearEpilogue::kStore},   // token merging: no bias; several chunks
    {513, 64, 48, false, LinearEpilogue::kAccumulate},
    {600, 48, 96, true, LinearEpilogue::kGelu},
};

INSTANTIATE_TEST_SUITE_P(Cases, FastLinear,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Bool(),
                                            ::testing::Values(torch::kFloat, torch::kDouble)));

// bf16 products: the same cases with a bfloat16 weight. The reference is the float64 product of
// x and W rounded to bfloat16 (round to nearest even, as the kernel's input conversion), so
// what is left is float32 accumulation: the float32 tolerance, not a bf16 one.
TEST(FastLinear, Bf16ProductsMatchTheRoundedReference) {
  if (!bf16_products()) GTEST_SKIP() << "no bf16 products here (oneDNN off or a CPU without bf16 arithmetic)";
  const test::ScopedThreads two_threads(2);
  for (const auto& c : kCases) {
    torch::manual_seed(c.M * 5 + c.N);
    auto x_wide = torch::randn({c.M, c.K + 5});
    auto x = x_wide.slice(1, 2, 2 + c.K);  // strided rows, as in the float32 cases
    auto w = torch::randn({c.N, c.K}) * (1.0 / std::sqrt(static_cast<double>(c.K)));
    auto b = c.bias ? torch::randn({c.N}) : torch::Tensor();
    auto out = torch::randn({c.M, c.N});
    const auto start = out.clone();
    const auto w16 = w.to(torch::kBFloat16);
    const auto expected = reference(start, x.to(torch::kBFloat16), w16, b, c.epilogue);
    {
      c10::InferenceMode guard;
      linear_into(out, x, w16, b, c.epilogue);
    }
    EXPECT_EQ(out.scalar_type(), torch::kFloat);
    EXPECT_LE((out.to(torch::kDouble) - expected).abs().max().item<double>(), 2e-5) << c.M << "x" << c.K << "x" << c.N;
    // And against float32 products, the bf16 rounding of the inputs: about 2^-8 relative per term.
    const auto full = reference(start, x, w, b, c.epilogue);
    EXPECT_LE((out.to(torch::kDouble) - full).abs().max().item<double>(), 0.05) << c.M << "x" << c.K << "x" << c.N;
  }
  // A bfloat16 weight wants float32 x and out.
  c10::InferenceMode guard;
  auto out = torch::empty({3, 8}, torch::kBFloat16);
  EXPECT_THROW(linear_into(out, torch::randn({3, 4}, torch::kBFloat16), torch::randn({8, 4}).to(torch::kBFloat16), {},
                           LinearEpilogue::kStore),
               c10::Error);
}

// ProductWeight: the weight itself for float32; for bf16 one copy, made again when the weight changes.
TEST(FastLinear, ProductWeightFollowsTheWeight) {
  torch::NoGradGuard no_grad;
  auto w = torch::randn({6, 4});
  ProductWeight cache;
  EXPECT_TRUE(cache.get(w, false).weight.is_same(w));
  const auto a = cache.get(w, true).weight;
  EXPECT_EQ(a.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(a, w.to(torch::kBFloat16)));
  EXPECT_TRUE(cache.get(w, true).weight.is_same(a)) << "kept while the weight is unchanged";
  w.mul_(2);  // in place: the version counter moves
  const auto b = cache.get(w, true).weight;
  EXPECT_FALSE(b.is_same(a));
  EXPECT_TRUE(torch::equal(b, w.to(torch::kBFloat16)));
}

// oneDNN and ATen give the same numbers up to float32 rounding (the model's fixtures hold
// with either).
TEST(FastLinear, OneDnnMatchesATen) {
  if (!onednn_built()) GTEST_SKIP() << "built without oneDNN";
  const test::ScopedThreads two_threads(2);
  torch::manual_seed(3);
  auto x = torch::randn({777, 192}), w = torch::randn({768, 192}) * 0.07, b = torch::randn({768});
  for (auto e : {LinearEpilogue::kStore, LinearEpilogue::kGelu, LinearEpilogue::kAccumulate}) {
    auto start = torch::randn({777, 768});
    auto with = start.clone(), without = start.clone();
    c10::InferenceMode guard;
    {
      const ScopedOneDnn on(true);
      linear_into(with, x, w, b, e);
    }
    {
      const ScopedOneDnn off(false);
      linear_into(without, x, w, b, e);
    }
    EXPECT_LE((with - without).abs().max().item<double>(), 2e-5) << static_cast<int>(e);
  }
}

// The training functions' weight gradient adds dy^T x to dw: against float64 for row counts
// below, at and past its 64-row steps and 1,024-row products, rows read from wider tensors (row
// strides above the width), with oneDNN and with ATen.
TEST(FastLinear, AddWeightGradientMatchesFloat64) {
  torch::manual_seed(5);
  for (const bool on : {true, false}) {
    const ScopedOneDnn scoped(on);
    for (const int64_t M : {1, 63, 64, 300, 1024, 2500}) {
      const auto dy_wide = torch::randn({M, 200}), x_wide = torch::randn({M, 70});
      const auto dy = dy_wide.slice(1, 0, 192), x = x_wide.slice(1, 3, 67);  // (M, 192), (M, 64)
      const auto start = torch::randn({192, 64});
      auto dw = start.clone();
      add_weight_gradient(dw, dy, x);
      const auto want = start.to(torch::kDouble) + dy.to(torch::kDouble).t().mm(x.to(torch::kDouble));
      // sums of M products: within a relative 1e-5 of the largest value
      EXPECT_LE((dw.to(torch::kDouble) - want).abs().max().item<double>(), 1e-5 * want.abs().max().item<double>())
          << "M=" << M << " oneDNN " << on;
    }
  }
  // Columns that are not adjacent in memory (a transposed x): LibTorch's product, the same sums.
  const auto dy = torch::randn({300, 192}), x = torch::randn({64, 300}).t();  // (300, 192), (300, 64)
  const auto start = torch::randn({192, 64});
  auto dw_t = start.clone();
  add_weight_gradient(dw_t, dy, x);
  const auto want = start.to(torch::kDouble) + dy.to(torch::kDouble).t().mm(x.to(torch::kDouble));
  EXPECT_LE((dw_t.to(torch::kDouble) - want).abs().max().item<double>(), 1e-5 * want.abs().max().item<double>());
  auto dw = torch::zeros({4, 3});
  EXPECT_THROW(add_weight_gradient(dw, torch::randn({5, 4}), torch::randn({6, 3})), c10::Error);
  EXPECT_THROW(add_weight_gradient(dw, torch::randn({5, 3}), torch::randn({5, 3})), c10::Error);
}

#ifdef BYTEFORMER_EXPECT_ONEDNN
// setup.sh installs libdnnl-dev: a build here that silently fell back to ATen is a defect.
TEST(FastLinear, BuiltWithOneDnn) {
  EXPECT_TRUE(onednn_built());
  EXPECT_TRUE(onednn_enabled() || std::getenv("BYTEFORMER_ONEDNN") != nullptr);
}
#endif

TEST(FastLinear, RejectsBadShapes) {
  c10::InferenceMode guard;
  auto w = torch::randn({8, 4});
  auto out = torch::empty({3, 8});
  EXPECT_THROW(linear_into(out, torch::randn({3, 5}), w, {}, LinearEpilogue::kStore), c10::Error);
  auto short_out = torch::empty({2, 8});
  EXPECT_THROW(linear_into(short_out, torch::randn({3, 4}), w, {}, LinearEpilogue::kStore), c10::Error);
  EXPECT_THROW(linear_into(out, torch::randn({3, 4}), w, torch::randn({7}), LinearEpilogue::kStore), c10::Error);
  EXPECT_THROW(linear_into(out, torch::randn({3, 4}), w.t().contiguous().t(), {}, LinearEpilogue::kStore),
               c10::Error);
  EXPECT_THROW(linear_into(out, torch::randn({3, 4}, torch::kDouble), w, {}, LinearEpilogue::kStore), c10::Error);
}

}  // namespace
}  // namespace byteformer
