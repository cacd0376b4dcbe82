// train_attention_sublayer (train_attention.h) against the attention sublayer written with
// plain LibTorch operators (float32 windows of up to 64 run hand-written kernels, larger ones
// and float64 the library's products) (LayerNorm, masked_window, the product, mask and softmax per head,
// masked_unwindow, the residual): values and the gradients of x and the seven parameters, in
// float64 and float32, with window padding, shifts, batch padding and windows without a valid
// key; and the same gradients on one thread as on two.
#include "model/cpu/train_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "byteformer/model/windowing.h"
#include "test_util.h"

namespace byteformer {
namespace {

namespace nnf = torch::nn::functional;

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

struct Case {
  int64_t C, heads, window, shift;
  std::vector<int64_t> valid;  // per sample; N is the largest
  double eps;
};

// The parameters in the order of the function's gradients: norm w, b, qkv w, b, out w, b.
std::vector<torch::Tensor> parameters(int64_t C, torch::Dtype dtype) {
  return {1.0 + 0.1 * torch::randn({C}, dtype), 0.1 * torch::randn({C}, dtype),
          0.2 * torch::randn({3 * C, C}, dtype), 0.1 * torch::randn({3 * C}, dtype),
          0.2 * torch::randn({C, C}, dtype),     0.1 * torch::randn({C}, dtype)};
}

AttentionSublayerWeights weights_of(const std::vector<torch::Tensor>& p, const Case& c) {
  return {p[0], p[1], c.eps, p[2], p[3], p[4], p[5], c.heads};
}

torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& valid_len, const Case& c,
                        const std::vector<torch::Tensor>& p) {
  const int64_t B = x.size(0), N = x.size(1), C = c.C, H = c.heads, d = C / H;
  auto h = nnf::layer_norm(x, nnf::LayerNormFuncOptions({C}).weight(p[0]).bias(p[1]).eps(c.eps));
  const auto layout = masked_window(h, valid_len, c.window, c.shift);
  const int64_t G = layout.windows.size(0), w = c.window;
  auto qkv = nnf::linear(layout.windows, p[2], p[3]).view({G, w, 3, H, d}).permute({2, 0, 3, 1, 4});
  auto scores = torch::matmul(qkv[0], qkv[1].transpose(-1, -2)) / std::sqrt(static_cast<double>(d));  // (G, H, w, w)
  const auto any = layout.key_valid.any(1);                                               // (G)
  const auto keep = layout.key_valid.logical_or(any.logical_not().unsqueeze(1));         // (G, w)
  scores = scores.masked_fill(keep.logical_not().view({G, 1, 1, w}), -std::numeric_limits<double>::infinity());
  auto heads = torch::matmul(torch::softmax(scores, -1), qkv[2]).transpose(1, 2).reshape({G, w, C});
  auto out = nnf::linear(heads, p[4], p[5]) * any.view({G, 1, 1}).to(x.scalar_type());
  return x + masked_unwindow(out, layout, B, N);
}

// (value, then the gradients of x and the six parameters) of sum(f(x) * upstream).
std::vector<torch::Tensor> run(bool fused, const Case& c, const torch::Tensor& x0, const torch::Tensor& valid_len,
                               const std::vector<torch::Tensor>& p0, const torch::Tensor& upstream) {
  auto x = x0.clone().requires_grad_(true);
  std::vector<torch::Tensor> p;
  for (const auto& t : p0) p.push_back(t.clone().requires_grad_(true));
  auto y = fused ? train_attention_sublayer(x, valid_len, c.window, c.shift, weights_of(p, c))
                 : reference(x, valid_len, c, p);
  (y * upstream).sum().backward();
  std::vector<torch::Tensor> out{y.detach(), x.grad()};
  for (const auto& t : p) out.push_back(t.grad());
  return out;
}

const char* kNames[] = {"value", "x", "norm weight", "norm bias", "qkv weight", "qkv bias", "out weight", "out bias"};

class TrainAttention : public ::testing::TestWithParam<Case> {};

TEST_P(TrainAttention, ValuesAndGradientsMatchThePlainOperators) {
  const auto& c = GetParam();
  const test::ScopedThreads two_threads(2);
  const int64_t B = static_cast<int64_t>(c.valid.size());
  const int64_t N = *std::max_element(c.valid.begin(), c.valid.end());
  torch::manual_seed(c.C * 7 + c.window + c.shift);
  const auto valid_len = torch::tensor(c.valid, torch::kLong);
  const auto x = torch::randn({B, N, c.C}, torch::kDouble);
  const auto p = parameters(c.C, torch::kDouble);
  const auto upstream = torch::randn({B, N, c.C}, torch::kDouble);
  const auto ours = run(true, c, x, valid_len, p, upstream), theirs = run(false, c, x, valid_len, p, upstream);
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_TRUE(ours[i].defined()) << kNames[i];
    ASSERT_EQ(ours[i].sizes(), theirs[i].sizes()) << kNames[i];
    // float64 both ways, summed in other orders.
    EXPECT_LE(max_abs(ours[i] - theirs[i]), 1e-10 * std::max(1.0, max_abs(theirs[i]))) << kNames[i];
  }
  // float32 against the float64 reference: sums of C to a few hundred terms, within a relative
  // 1e-4 of the largest entry (float32's epsilon is 1.2e-7).
  std::vector<torch::Tensor> p32;
  for (const auto& t : p) p32.push_back(t.to(torch::kFloat));
  const auto f32 = run(true, c, x.to(torch::kFloat), valid_len, p32, upstream.to(torch::kFloat));
  for (size_t i = 0; i < f32.size(); ++i)
    EXPECT_LE(max_abs(f32[i].to(torch::kDouble) - theirs[i]), 1e-4 * std::max(1.0, max_abs(theirs[i])))
        << kNames[i] << " (float32)";
}

TEST_P(TrainAttention, GradientsDoNotDependOnTheThreadCount) {
  const auto& c = GetParam();
  const int64_t B = static_cast<int64_t>(c.valid.size());
  const int64_t N = *std::max_element(c.valid.begin(), c.valid.end());
  torch::manual_seed(3);
  const auto valid_len = torch::tensor(c.valid, torch::kLong);
  const auto x = torch::randn({B, N, c.C});
  const auto p = parameters(c.C, torch::kFloat);
  const auto upstream = torch::randn({B, N, c.C});
  std::vector<torch::Tensor> one, two;
  {
    const test::ScopedThreads threads(1);
    one = run(true, c, x, valid_len, p, upstream);
  }
  {
    const test::ScopedThreads threads(2);
    two = run(true, c, x, valid_len, p, upstream);
  }
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], two[i])) << kNames[i];
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, TrainAttention,
    ::testing::Values(
        // The quickstart's shape: 29 tokens in one window of 32 (3 padding slots), 40 windows in
        // three tasks of 16, all samples full.
        Case{64, 4, 32, 0, std::vector<int64_t>(40, 29), 1e-5},
        // Shifted windows of 8 over 37 tokens, batch padding: samples of 37, 20 and 3 tokens, so
        // that some windows have no valid key (their tokens get zeros) and tasks skip them.
        Case{16, 2, 8, 4, {37, 20, 3, 37}, 1e-5},
        // Windows of 64 with heads of 64 (the largest the hand-written float32 kernels take,
        // small_window_attention.h), shifted by 32.
        Case{128, 2, 64, 32, {100, 64, 7}, 1e-5},
        // Windows of 128 shifted by 64 over 300 tokens (four windows a task; float32 through the
        // library's batched products), one sample of one token.
        Case{24, 3, 128, 64, {300, 130, 1}, 1e-6}));

TEST(TrainAttentionErrors, ShapesAndTypes) {
  const Case c{8, 2, 4, 0, {5}, 1e-5};
  const auto p = parameters(8, torch::kFloat);
  const auto wt = weights_of(p, c);
  const auto valid = torch::tensor({5}, torch::kLong);
  EXPECT_THROW(train_attention_sublayer(torch::randn({5, 8}), valid, 4, 0, wt), c10::Error);
  EXPECT_THROW(train_attention_sublayer(torch::randn({1, 5, 8}), torch::Tensor(), 4, 0, wt), c10::Error);
  EXPECT_THROW(train_attention_sublayer(torch::randn({1, 5, 8}), valid, 0, 0, wt), c10::Error);
  EXPECT_THROW(train_attention_sublayer(torch::randn({1, 5, 6}), valid, 4, 0, wt), c10::Error);
  EXPECT_THROW(train_attention_sublayer(torch::randn({1, 5, 8}, torch::kDouble), valid, 4, 0, wt), c10::Error);
  auto three_heads = wt;
  three_heads.num_heads = 3;
  EXPECT_THROW(train_attention_sublayer(torch::randn({1, 5, 8}), valid, 4, 0, three_heads), c10::Error);
}

}  // namespace
}  // namespace byteformer
