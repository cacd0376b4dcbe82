// reduction_table_by_value (reduction_table.h): the training table of the fused token reduction
// and its gradients against the literal definition (row v*k + j = E'[v] W[:, :, j]^T, E' with
// the padding row zero) in float64 through autograd.
#include "model/cpu/reduction_table.h"

#include <gtest/gtest.h>

#include "scoped_onednn.h"
#include "test_util.h"

namespace byteformer {
namespace {

using test::ScopedOneDnn;

// The definition, one kernel position at a time: (V, k, C_out) -> (V*k, C_out).
torch::Tensor literal_table(const torch::Tensor& e, const torch::Tensor& w) {
  const int64_t V = e.size(0), k = w.size(2);
  auto mask = torch::ones({V, 1}, e.options());
  mask[V - 1] = 0;
  std::vector<torch::Tensor> by_position;
  for (int64_t j = 0; j < k; ++j) by_position.push_back(torch::mm(e * mask, w.select(2, j).t()));  // (V, C_out)
  return torch::stack(by_position, 1).reshape({V * k, w.size(0)});
}

struct Shape {
  int64_t V, C_in, C_out, k;
};

class ReductionTable : public ::testing::TestWithParam<std::tuple<Shape, bool, torch::ScalarType>> {};

TEST_P(ReductionTable, ValuesAndGradientsMatchTheDefinition) {
  const auto [s, onednn, dtype] = GetParam();
  const ScopedOneDnn switch_(onednn);
  const test::ScopedThreads two_threads(2);
  torch::manual_seed(s.V + s.k);
  const auto opts = torch::TensorOptions().dtype(dtype);
  auto e = torch::randn({s.V, s.C_in}, opts).requires_grad_(true);
  auto w = (torch::randn({s.C_out, s.C_in, s.k}, opts) / std::sqrt(static_cast<double>(s.C_in))).requires_grad_(true);
  auto table = reduction_table_by_value(e, w);  // (V*k, C_out)
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{s.V * s.k, s.C_out}));
  auto g = torch::randn({s.V * s.k, s.C_out}, opts);
  table.backward(g);

  auto e64 = e.detach().to(torch::kDouble).requires_grad_(true);
  auto w64 = w.detach().to(torch::kDouble).requires_grad_(true);
  auto expected = literal_table(e64, w64);
  expected.backward(g.to(torch::kDouble));
  // Each entry is a sum of C_in (table), V (dW) or k*C_out (dE) unit-scale products: float32's
  // rounding in another order than float64's, relative to the largest entry.
  auto close = [&](const torch::Tensor& got, const torch::Tensor& want, const char* what) {
    const double scale = want.abs().max().item<double>();
    const double tol = (dtype == torch::kDouble ? 1e-12 : 2e-6) * std::max(1.0, scale);
    EXPECT_LE((got.to(torch::kDouble) - want).abs().max().item<double>(), tol) << what;
  };
  close(table.detach(), expected.detach(), "table");
  close(e.grad(), e64.grad(), "dE");
  close(w.grad(), w64.grad(), "dW");
  // The padding row: zero rows in the table, no gradient.
  EXPECT_EQ(table.detach().slice(0, (s.V - 1) * s.k).abs().max().item<double>(), 0.0);
  EXPECT_EQ(e.grad()[s.V - 1].abs().max().item<double>(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ReductionTable,
    ::testing::Combine(::testing::Values(Shape{257, 64, 64, 168},  // the quickstart model
                                         Shape{257, 24, 40, 5},    // C_in != C_out, odd k
                                         Shape{3, 2, 3, 1}),       // k = 1, a tiny vocabulary
                       ::testing::Bool(), ::testing::Values(torch::kFloat, torch::kDouble)));

// Outside CPU float32/float64 (bfloat16 here; CUDA takes the same path) the table comes from
// LibTorch's operators and autograd: the same layout, the padding row zero and without gradient.
TEST(ReductionTable, LibTorchOperatorsGiveTheSameTableAndGradients) {
  torch::manual_seed(3);
  const int64_t V = 7, C_in = 3, C_out = 4, k = 2;
  auto e = torch::randn({V, C_in}).to(torch::kBFloat16).requires_grad_(true);
  auto w = torch::randn({C_out, C_in, k}).to(torch::kBFloat16).requires_grad_(true);
  auto table = reduction_table_by_value(e, w);  // (V*k, C_out)
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{V * k, C_out}));
  auto g = torch::randn({V * k, C_out}).to(torch::kBFloat16);
  table.backward(g);
  auto e64 = e.detach().to(torch::kDouble).requires_grad_(true);
  auto w64 = w.detach().to(torch::kDouble).requires_grad_(true);
  auto expected = literal_table(e64, w64);
  expected.backward(g.to(torch::kDouble));
  // bfloat16 keeps 8 bits of mantissa: 2e-2 of the largest entry.
  auto close = [](const torch::Tensor& got, const torch::Tensor& want, const char* what) {
    const double scale = std::max(1.0, want.abs().max().item<double>());
    EXPECT_LE((got.to(torch::kDouble) - want).abs().max().item<double>(), 2e-2 * scale) << what;
  };
  close(table.detach(), expected.detach(), "table");
  close(e.grad(), e64.grad(), "dE");
  close(w.grad(), w64.grad(), "dW");
  EXPECT_EQ(e.grad()[V - 1].abs().max().item<double>(), 0.0);
}

TEST(ReductionTable, RejectsMismatchedShapes) {
  EXPECT_THROW(reduction_table_by_value(torch::randn({5, 4}), torch::randn({3, 2, 2})), c10::Error);
  EXPECT_THROW(reduction_table_by_value(torch::randn({5, 4, 1}), torch::randn({3, 4, 2})), c10::Error);
}

}  // namespace
}  // namespace byteformer
