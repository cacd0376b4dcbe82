// The first block's q, k, v from lookups (first_block_qkv.h) against qkv_proj(LayerNorm(x)),
// alone and through the whole model, and its caches following weight changes.
#include "model/cpu/first_block_qkv.h"

#include <gtest/gtest.h>

#include "byteformer/model/byteformer.h"
#include "byteformer/model/inference.h"
#include "test_util.h"

namespace byteformer {
namespace {

struct Parts {
  torch::Tensor table, emb, conv, pos, g, beta, w, b;
};

Parts random_parts(int64_t k, int64_t V, int64_t C, int64_t T, torch::ScalarType dtype) {
  const auto o = torch::TensorOptions().dtype(dtype);
  return {torch::randn({k * V, C}, o) * 0.1, torch::randn({V, C}, o), torch::randn({C, C, k}, o),
          torch::randn({T, C}, o) * 0.1,      1.0 + 0.3 * torch::randn({C}, o), 0.2 * torch::randn({C}, o),
          torch::randn({3 * C, C}, o) * 0.1, 0.1 * torch::randn({3 * C}, o)};
}

// qkv_proj(LayerNorm(x)) for x = sum of the bag's table rows + pos, the literal way.
torch::Tensor reference(const Parts& p, const torch::Tensor& rows, int64_t B, int64_t N, int64_t k) {
  const int64_t C = p.table.size(1);
  auto x = p.table.index_select(0, rows).view({B, N, k, C}).sum(2) + p.pos.slice(0, 0, N);  // (B, N, C)
  auto h = torch::layer_norm(x, {C}, p.g, p.beta, 1e-5);
  return torch::addmm(p.b, h.reshape({B * N, C}), p.w.t()).view({B, N, 3 * C});
}

class FirstBlockQkvTest : public ::testing::TestWithParam<torch::ScalarType> {};

TEST_P(FirstBlockQkvTest, MatchesNormThenProduct) {
  const auto dtype = GetParam();
  const int64_t k = 4, V = 257, C = 24, T = 600, B = 3;
  torch::manual_seed(5);
  auto p = random_parts(k, V, C, T, dtype);
  const test::ScopedThreads two_threads(2);
  FirstBlockQkv qkv;
  const double tol = dtype == torch::kDouble ? 1e-12 : 2e-5;
  auto check = [&](int64_t N, const char* what) {
    auto rows = (torch::randint(0, V, {B * N, k}, torch::kLong) + torch::arange(k, torch::kLong) * V).reshape({-1});
    auto expected = reference(p, rows, B, N, k);
    auto x = (p.table.index_select(0, rows).view({B, N, k, C}).sum(2) + p.pos.slice(0, 0, N)).contiguous();
    c10::InferenceMode guard;
    auto got = qkv.compute(p.table, p.emb, p.conv, rows, k, x, p.pos.slice(0, 0, N), p.g, p.beta, 1e-5, p.w, p.b);
    EXPECT_LE((got - expected).abs().max().item<double>(), tol) << what;
  };
  check(200, "first call");
  check(150, "shorter input: the positions' rows are reused");
  check(500, "longer input: the positions' rows grow");
  {
    torch::NoGradGuard g;
    p.g.mul_(1.5);        // the norm's weight changes in place: a new version
    p.b.add_(0.25);
    p.pos.sub_(0.05);
  }
  check(300, "after the norm weight, qkv bias and positions changed");
  {
    torch::NoGradGuard g;
    p.table.mul_(0.5);
    p.emb.add_(1.0);  // the table's sources changed (the model rebuilds the table from them)
  }
  check(300, "after the table changed");
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FirstBlockQkvTest, ::testing::Values(torch::kFloat, torch::kDouble));

// The whole model at inference (lookups for the first block) against the plain path (embedding,
// Conv1d, LayerNorm, qkv_proj), with every parameter moved off its initial value (norm weights
// and biases not 1 and 0, biases not 0), in both numerics, float32 and float64.
class FirstBlockQkvModel : public ::testing::TestWithParam<std::tuple<Numerics, torch::ScalarType>> {};

TEST_P(FirstBlockQkvModel, LogitsMatchThePlainPath) {
  const auto [numerics, dtype] = GetParam();
  auto o = ByteFormerOptions::preset("tiny");
  o.n_classes = 7;
  o.max_num_tokens = 4096;
  o.conv_kernel_size = 4;
  o.numerics = numerics;
  torch::manual_seed(13);
  ByteFormer model(o);
  model->to(dtype);
  model->eval();
  {
    torch::NoGradGuard g;
    for (auto& param : model->parameters()) param.add_(torch::randn_like(param) * 0.05);
  }
  std::vector<std::vector<uint8_t>> files;
  for (int64_t n : {3000, 1111, 2500}) {
    auto t = torch::randint(0, 256, {n}, torch::kLong);
    files.emplace_back(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
  }
  auto x = pad_batch(files);
  const test::ScopedThreads two_threads(2);
  ASSERT_TRUE(model->first_block_lookup());
  torch::Tensor folded, plain, product;
  {
    c10::InferenceMode guard;
    model->set_fused_token_reduction(true);
    folded = model->forward(x);
    model->set_first_block_lookup(false);  // the fused reduction, qkv by its product
    product = model->forward(x);
    model->set_first_block_lookup(true);
    model->set_fused_token_reduction(false);
    plain = model->forward(x);
  }
  EXPECT_LE((folded - product).abs().max().item<double>(), dtype == torch::kDouble ? 1e-10 : 1e-4);
  // float32: 1e-4 absolute on logits, the bound for corenet numerics (sums in another order).
  EXPECT_LE((folded - plain).abs().max().item<double>(), dtype == torch::kDouble ? 1e-10 : 1e-4);
  // The block's weights change (as after a training step): the next inference follows them.
  {
    torch::NoGradGuard g;
    auto& mha = *model->transformer->ptr(0)->as<TransformerBlockImpl>()->pre_norm_mha;
    mha.norm->weight.mul_(1.3);
    mha.attn->qkv_proj->bias.add_(0.1);
  }
  {
    c10::InferenceMode guard;
    model->set_fused_token_reduction(true);
    folded = model->forward(x);
    model->set_fused_token_reduction(false);
    plain = model->forward(x);
  }
  EXPECT_LE((folded - plain).abs().max().item<double>(), dtype == torch::kDouble ? 1e-10 : 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Numerics, FirstBlockQkvModel,
                         ::testing::Combine(::testing::Values(Numerics::kCoreNet, Numerics::kMasked),
                                            ::testing::Values(torch::kFloat, torch::kDouble)));

}  // namespace
}  // namespace byteformer
