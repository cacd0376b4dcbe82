// train_linear (train_linear.h) against a float64 reference (values and the gradients of x, the
// weight and the bias), and a whole model's gradients with it against the modules' products.
#include "model/cpu/train_linear.h"

#include <gtest/gtest.h>

#include <tuple>

#include "byteformer/model/byteformer.h"
#include "scoped_onednn.h"
#include "test_util.h"

namespace byteformer {
namespace {

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

// (rows M: one or several weight-gradient chunks of 1024 and a short last one, K, N)
class TrainLinear : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t>> {};

TEST_P(TrainLinear, ValuesAndGradientsMatchFloat64) {
  const auto [M, K, N] = GetParam();
  if (!onednn_built()) GTEST_SKIP() << "this build has no oneDNN: the model does not use train_linear";
  const test::ScopedThreads two_threads(2);
  torch::manual_seed(M + K + N);
  // x as the model gives it: (B, rows, K), here 2 x M/2 rows (M even) or 1 x M.
  const int64_t B = M % 2 == 0 ? 2 : 1;
  auto x = torch::randn({B, M / B, K}).requires_grad_(true);
  auto w = (torch::randn({N, K}) * 0.2).requires_grad_(true);
  auto b = torch::randn({N}).requires_grad_(true);
  auto x64 = x.detach().to(torch::kDouble).requires_grad_(true);
  auto w64 = w.detach().to(torch::kDouble).requires_grad_(true);
  auto b64 = b.detach().to(torch::kDouble).requires_grad_(true);
  auto y = train_linear(x, w, b);
  auto ref = torch::nn::functional::linear(x64, w64, b64);
  ASSERT_EQ(y.sizes(), ref.sizes());
  // float32 against float64: sums of K products (forward, dX) and of M (dW, db), each within a
  // relative 1e-5 of the largest value (float32's epsilon is 1.2e-7; measured about 1e-6).
  EXPECT_LE(max_abs(y.to(torch::kDouble) - ref), 1e-5 * max_abs(ref));
  auto upstream = torch::randn(ref.sizes());
  (y * upstream).sum().backward();
  (ref * upstream.to(torch::kDouble)).sum().backward();
  for (auto [ours, theirs, name] : {std::make_tuple(x, x64, "x"), std::make_tuple(w, w64, "weight"),
                                    std::make_tuple(b, b64, "bias")}) {
    ASSERT_TRUE(ours.grad().defined()) << name;
    ASSERT_EQ(ours.grad().sizes(), theirs.grad().sizes()) << name;
    EXPECT_LE(max_abs(ours.grad().to(torch::kDouble) - theirs.grad()), 1e-5 * max_abs(theirs.grad()))
        << name << " M=" << M;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TrainLinear,
                         ::testing::Values(std::make_tuple(int64_t{7}, int64_t{64}, int64_t{192}),
                                           std::make_tuple(int64_t{1041}, int64_t{64}, int64_t{256}),
                                           std::make_tuple(int64_t{3000}, int64_t{256}, int64_t{64}),
                                           std::make_tuple(int64_t{2048}, int64_t{48}, int64_t{48})));

// train_ffn_sublayer: x + fc2(gelu(fc1(LayerNorm(x)))) as one function, against the same steps
// in float64, for rows in one task, several tasks of 1024 and a short last one, on two threads;
// and its gradients the same on one thread as on two.
class TrainFfn : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t>> {};

std::vector<torch::Tensor> ffn_inputs(int64_t M, int64_t C, int64_t F) {
  const int64_t B = M % 2 == 0 ? 2 : 1;
  return {torch::randn({B, M / B, C}), 1.0 + 0.1 * torch::randn({C}), 0.1 * torch::randn({C}),
          torch::randn({F, C}) * 0.2,  torch::randn({F}),               torch::randn({C, F}) * 0.1,
          torch::randn({C})};
}

// The value and the gradients of x and the six parameters of sum(ffn(x) * upstream).
std::vector<torch::Tensor> ffn_run(const std::vector<torch::Tensor>& in, const torch::Tensor& upstream, bool ours) {
  std::vector<torch::Tensor> t;
  for (const auto& v : in) t.push_back((ours ? v.clone() : v.to(torch::kDouble)).requires_grad_(true));
  namespace nnf = torch::nn::functional;
  torch::Tensor y;
  if (ours) {
    y = train_ffn_sublayer(t[0], {t[1], t[2], 1e-5, t[3], t[4], t[5], t[6]});
  } else {
    const int64_t C = in[0].size(-1);
    auto n = nnf::layer_norm(t[0], nnf::LayerNormFuncOptions({C}).weight(t[1]).bias(t[2]).eps(1e-5));
    y = t[0] + nnf::linear(torch::gelu(nnf::linear(n, t[3], t[4])), t[5], t[6]);
  }
  (y * upstream.to(y.scalar_type())).sum().backward();
  std::vector<torch::Tensor> out{y.detach()};
  for (const auto& v : t) out.push_back(v.grad());
  return out;
}

const char* kFfnNames[] = {"value", "x", "norm weight", "norm bias", "fc1 weight", "fc1 bias", "fc2 weight", "fc2 bias"};

TEST_P(TrainFfn, ValuesAndGradientsMatchFloat64) {
  const auto [M, C, F] = GetParam();
  if (!onednn_built()) GTEST_SKIP() << "this build has no oneDNN: the model does not use train_ffn_sublayer";
  const test::ScopedThreads two_threads(2);
  torch::manual_seed(M + C + F);
  const auto in = ffn_inputs(M, C, F);
  const auto upstream = torch::randn(in[0].sizes());
  const auto ours = ffn_run(in, upstream, true), theirs = ffn_run(in, upstream, false);
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_TRUE(ours[i].defined()) << kFfnNames[i];
    ASSERT_EQ(ours[i].sizes(), theirs[i].sizes()) << kFfnNames[i];
    // float32 against float64: sums of C or F products (forward, input gradients) and of M rows
    // (weight gradients), each within a relative 1e-5 of the largest value.
    EXPECT_LE(max_abs(ours[i].to(torch::kDouble) - theirs[i]), 1e-5 * max_abs(theirs[i])) << kFfnNames[i]
                                                                                             << " M=" << M;
  }
}

TEST_P(TrainFfn, GradientsDoNotDependOnTheThreadCount) {
  const auto [M, C, F] = GetParam();
  if (!onednn_built()) GTEST_SKIP() << "this build has no oneDNN: the model does not use train_ffn_sublayer";
  torch::manual_seed(M);
  const auto in = ffn_inputs(M, C, F);
  const auto upstream = torch::randn(in[0].sizes());
  std::vector<torch::Tensor> one, two;
  {
    const test::ScopedThreads threads(1);
    one = ffn_run(in, upstream, true);
  }
  {
    const test::ScopedThreads threads(2);
    two = ffn_run(in, upstream, true);
  }
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], two[i])) << kFfnNames[i];
}

INSTANTIATE_TEST_SUITE_P(Shapes, TrainFfn,
                         ::testing::Values(std::make_tuple(int64_t{7}, int64_t{64}, int64_t{256}),
                                           std::make_tuple(int64_t{2500}, int64_t{64}, int64_t{256}),
                                           std::make_tuple(int64_t{1024}, int64_t{48}, int64_t{96}),
                                           // C not a multiple of 16: the norm through LibTorch's kernels
                                           std::make_tuple(int64_t{300}, int64_t{40}, int64_t{80})));

TEST(TrainLinearErrors, ShapesAndTypes) {
  auto x = torch::randn({5, 8});
  EXPECT_THROW(train_linear(x, torch::randn({4, 7}), torch::randn({4})), c10::Error);
  EXPECT_THROW(train_linear(x, torch::randn({4, 8}), torch::randn({3})), c10::Error);
  EXPECT_THROW(train_linear(x, torch::randn({4, 8}), torch::Tensor()), c10::Error);
  EXPECT_THROW(train_linear(x.to(torch::kDouble), torch::randn({4, 8}), torch::randn({4})), c10::Error);
}

TEST(TrainLinear, AppliesOnlyToFloat32CpuTrainingOutsideAutocast) {
  if (!onednn_built()) GTEST_SKIP() << "this build has no oneDNN";
  const test::ScopedOneDnn on(true);
  auto x = torch::randn({4, 8});
  EXPECT_TRUE(train_linear_applies(x));
  EXPECT_FALSE(train_linear_applies(x.to(torch::kDouble)));
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(train_linear_applies(x));
  }
  const test::ScopedOneDnn off(false);
  EXPECT_FALSE(train_linear_applies(x));
}

// A training step's gradients of every parameter of a small ByteFormer (the quickstart's shape:
// C=64, 4 heads, FFN 256, one window of 32) with the training functions (train_linear.h,
// train_attention.h), against the same model on the modules' products (oneDNN off); masked
// numerics (both sublayers fused) and CoreNet's (the FFN sublayer fused).
class ModelGradients : public ::testing::TestWithParam<Numerics> {};

TEST_P(ModelGradients, MatchTheModulesProducts) {
  if (!onednn_built()) GTEST_SKIP() << "this build has no oneDNN";
  const test::ScopedThreads two_threads(2);
  auto o = ByteFormerOptions::preset("tiny");
  o.numerics = GetParam();
  o.embed_dim = 64;
  o.num_heads = 4;
  o.ffn_dim = 256;
  o.num_layers = 2;
  o.window_sizes = {32};
  o.window_shifts = {0, 0};
  o.downsample = {false, false};
  o.n_classes = 10;
  o.max_num_tokens = 256;
  torch::manual_seed(4);
  ByteFormer model(o);
  model->train();
  auto x = torch::randint(0, 256, {6, 500}, torch::kLong);
  x.slice(1, 420).select(0, 1).fill_(-1);  // one shorter sample: padding masked
  auto upstream = torch::randn({6, 10});
  auto grads = [&](bool fast) {
    const test::ScopedOneDnn switch_(fast);
    model->zero_grad();
    (model->forward(x) * upstream).sum().backward();
    std::vector<torch::Tensor> out;
    for (const auto& p : model->parameters()) out.push_back(p.grad().clone());
    return out;
  };
  const auto fast = grads(true), plain = grads(false);
  const auto names = model->named_parameters().keys();
  ASSERT_EQ(fast.size(), plain.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    // float32 both ways, summed in other orders: a relative 1e-4 of the largest entry.
    EXPECT_LE(max_abs(fast[i] - plain[i]), 1e-4 * std::max(1e-3, max_abs(plain[i]))) << names[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Numerics, ModelGradients, ::testing::Values(Numerics::kMasked, Numerics::kCoreNet));

}  // namespace
}  // namespace byteformer
