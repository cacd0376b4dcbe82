// windowed_softmax_attention (the training path's attention core) against the plain
// matmul / masked_fill / softmax / matmul: forward values and the gradients of q, k and v,
// with LibTorch on two threads so that chunks really run in parallel.
#include <gtest/gtest.h>

#include <limits>
#include <tuple>

#include "model/cpu/attention_core.h"
#include "test_util.h"

namespace byteformer {
namespace {

torch::Tensor plain_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& keep) {
  auto s = torch::matmul(q, k.transpose(-1, -2));
  if (keep.defined())
    s = s.masked_fill(keep.logical_not().view({keep.size(0), 1, 1, keep.size(1)}),
                      -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(s, -1), v);
}

// (dtype, windows G, heads H, window w, head dim d, masked)
class AttentionCore : public ::testing::TestWithParam<std::tuple<torch::ScalarType, int, int, int, int, bool>> {};

TEST_P(AttentionCore, MatchesPlainPathWithGradients) {
  const auto [dtype, G, H, w, d, masked] = GetParam();
  const test::ScopedThreads two_threads(2);
  torch::manual_seed(G * 100 + w);
  auto opts = torch::TensorOptions().dtype(dtype);
  // Views with the strides MultiHeadAttention gives them: slices of a permuted (G, w, 3, H, d).
  auto qkv = torch::randn({G, w, 3, H, d}, opts).permute({2, 0, 3, 1, 4});
  auto make = [&](int i) { return qkv[i].clone().mul_(0.7).requires_grad_(true); };
  auto q1 = make(0), k1 = make(1), v1 = make(2);
  auto q2 = q1.detach().clone().requires_grad_(true), k2 = k1.detach().clone().requires_grad_(true),
       v2 = v1.detach().clone().requires_grad_(true);
  torch::Tensor keep;
  if (masked) {
    keep = torch::rand({G, w}) > 0.4;
    keep.select(1, 0).fill_(true);  // at least one key per window (MultiHeadAttention's rule)
    keep[0].fill_(true);
  }
  auto ours = windowed_softmax_attention(q1, k1, v1, keep);
  auto ref = plain_attention(q2, k2, v2, keep);
  const double tol = dtype == torch::kDouble ? 1e-12 : 2e-5;
  ASSERT_EQ(ours.sizes(), ref.sizes());
  EXPECT_LE((ours - ref).abs().max().item<double>(), tol);
  auto weights = torch::randn(ref.sizes(), opts);
  (ours * weights).sum().backward();
  (ref * weights).sum().backward();
  for (auto [a, b, name] : {std::make_tuple(q1, q2, "q"), std::make_tuple(k1, k2, "k"), std::make_tuple(v1, v2, "v")}) {
    ASSERT_TRUE(a.grad().defined()) << name;
    const double scale = std::max(1.0, b.grad().abs().max().item<double>());
    EXPECT_LE((a.grad() - b.grad()).abs().max().item<double>(), tol * scale) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionCore,
    ::testing::Values(std::make_tuple(torch::kFloat, 37, 3, 128, 64, false),
                      std::make_tuple(torch::kFloat, 37, 3, 128, 64, true),
                      std::make_tuple(torch::kFloat, 50, 3, 16, 16, true),
                      std::make_tuple(torch::kFloat, 5, 1, 32, 8, false),
                      std::make_tuple(torch::kFloat, 3, 4, 1, 4, false),
                      std::make_tuple(torch::kDouble, 21, 3, 32, 16, true),
                      std::make_tuple(torch::kDouble, 9, 2, 64, 8, false)));

TEST(AttentionCoreErrors, MismatchedShapes) {
  auto q = torch::randn({2, 3, 8, 4});
  EXPECT_THROW(windowed_softmax_attention(q, torch::randn({2, 3, 8, 5}), q, torch::Tensor()), c10::Error);
  EXPECT_THROW(windowed_softmax_attention(q, q, q, torch::ones({2, 7}, torch::kBool)), c10::Error);
}

}  // namespace
}  // namespace byteformer
