// The fused embedding + Conv1d (lookup tables and embedding_bag) against the literal path.
#include <gtest/gtest.h>

#include "byteformer/model/byteformer.h"
#include "byteformer/model/inference.h"

namespace byteformer {
namespace {

std::vector<uint8_t> random_bytes(int64_t n) {
  auto t = torch::randint(0, 256, {n}, torch::kLong);
  std::vector<uint8_t> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(t[i].item<int64_t>());
  return out;
}

class FusedReduction : public ::testing::TestWithParam<std::tuple<int64_t, Numerics>> {};

TEST_P(FusedReduction, ForwardAndGradientsMatchThePlainPath) {
  const auto [kernel, numerics] = GetParam();
  auto o = ByteFormerOptions::preset("tiny");
  o.n_classes = 5;
  o.max_num_tokens = 4096;
  o.conv_kernel_size = kernel;
  o.numerics = numerics;
  torch::manual_seed(21);
  ByteFormer model(o);
  model->train();  // dropout is 0: train mode only keeps autograd graphs
  auto x = pad_batch({random_bytes(3000), random_bytes(1111), random_bytes(2500)});
  auto run = [&](bool fused) {
    model->set_fused_token_reduction(fused);
    model->zero_grad();
    auto logits = model->forward(x);
    (logits * torch::linspace(-1, 1, logits.numel()).view(logits.sizes())).sum().backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(logits.detach(), grads);
  };
  auto [plain, plain_grads] = run(false);
  auto [fused, fused_grads] = run(true);
  // 1e-4 absolute on logits (the bound for corenet numerics); sums of k products are
  // added in another order than im2col's GEMM.
  EXPECT_LE((plain - fused).abs().max().item<double>(), 1e-4);
  auto params = model->named_parameters();
  for (size_t i = 0; i < plain_grads.size(); ++i) {
    const double scale = plain_grads[i].abs().max().item<double>();
    const double diff = (plain_grads[i] - fused_grads[i]).abs().max().item<double>();
    // Relative 1e-3 of the largest gradient entry of each parameter.
    EXPECT_LE(diff, 1e-3 * scale + 1e-7) << params[i].key();
  }
  // The padding row gets no gradient either way.
  EXPECT_EQ(fused_grads[0][256].abs().sum().item<float>(), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Kernels, FusedReduction,
                         ::testing::Combine(::testing::Values(4, 8, 16, 32, 5),
                                            ::testing::Values(Numerics::kCoreNet, Numerics::kMasked)));

TEST(FusedReduction, InferenceReusesTheTableUntilWeightsChange) {
  auto o = ByteFormerOptions::preset("tiny");
  o.n_classes = 3;
  o.conv_kernel_size = 8;
  ByteFormer model(o);
  model->eval();
  auto x = pad_batch({random_bytes(4000)});
  torch::Tensor a, b, c;
  {
    c10::InferenceMode guard;
    a = model->forward(x);
    b = model->forward(x);
  }
  {
    torch::NoGradGuard g;
    model->token_reduction_net->weight.mul_(2.0);  // bumps the version: the table is rebuilt
    c = model->forward(x);
  }
  model->set_fused_token_reduction(false);
  torch::NoGradGuard g;
  auto d = model->forward(x);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::allclose(a, c));
  EXPECT_LE((c - d).abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace byteformer
