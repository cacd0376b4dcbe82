// The window-free attention of inference (window_attention.h) against the windowed path that
// autograd runs (window copies -> MultiHeadAttention -> unwindow), both numerics.
#include <gtest/gtest.h>

#include "byteformer/model/transformer_block.h"
#include "test_util.h"

namespace byteformer {
namespace {

struct Case {
  int64_t window, shift;
  std::vector<int64_t> lengths;  // real tokens per row; the batch is as long as the longest
};

class WindowAttention : public ::testing::TestWithParam<std::tuple<Case, Numerics, torch::ScalarType>> {};

TEST_P(WindowAttention, InferenceMatchesTheWindowedPath) {
  const auto& [c, numerics, dtype] = GetParam();
  auto o = ByteFormerOptions::preset("tiny");
  o.embed_dim = 24;
  o.num_heads = 3;
  o.ffn_dim = 48;
  o.window_sizes = {c.window};
  o.window_shifts = {c.shift};
  o.numerics = numerics;
  torch::manual_seed(5);
  TransformerBlock block(o, 0);
  block->to(dtype);
  block->eval();
  {
    torch::NoGradGuard g;  // non-trivial norm parameters, so the pad token is not zero
    for (auto& p : block->parameters()) p.add_(torch::randn_like(p) * 0.1);
  }
  const int64_t N = *std::max_element(c.lengths.begin(), c.lengths.end());
  const int64_t B = static_cast<int64_t>(c.lengths.size());
  auto x = torch::randn({B, N, 24}, torch::TensorOptions().dtype(dtype));
  torch::Tensor valid_len;
  if (numerics == Numerics::kMasked) valid_len = torch::tensor(c.lengths, torch::kLong);
  auto windowed = block->forward(x, valid_len).detach();  // autograd on: the windowed path
  // Two threads, so that the window chunks really run on LibTorch's worker threads (which must
  // see the caller's InferenceMode) when the batch has enough windows.
  torch::Tensor fast;
  const auto x_before = x.clone();
  {
    const test::ScopedThreads two_threads(2);
    c10::InferenceMode guard;
    fast = block->forward(x, valid_len);
  }
  EXPECT_TRUE(torch::equal(x, x_before)) << "the inference path works on a copy of its input";
  const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
  // Tokens past a row's length are batch padding: under masked numerics only real tokens count
  // (the model masks the rest before merging and pooling); CoreNet numerics compare all.
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = numerics == Numerics::kMasked ? c.lengths[b] : N;
    EXPECT_LE((fast[b].slice(0, 0, n) - windowed[b].slice(0, 0, n)).abs().max().item<double>(), tol)
        << "row " << b << " window " << c.window << " shift " << c.shift;
  }
  if (numerics == Numerics::kMasked) EXPECT_TRUE(torch::allclose(fast, windowed, 0, tol));
}

const std::vector<Case> kCases{
    {8, 0, {37}},             // N not a multiple of w: CoreNet's padding window
    {8, 4, {37, 37}},         // shifted, rolled around the end
    {8, 3, {40, 17, 1}},      // odd shift; a row of one token; whole windows of batch padding
    {16, 8, {5, 16}},         // N < w
    {16, 0, {64, 64, 64}},    // no padding at all
    {4, 2, {9, 30, 2, 30}},
    // Several tasks of 8 windows (window_attention.cpp): consecutive windows read and written
    // in place, the wrapped and padded ones gathered, on two threads.
    {128, 0, {2048, 2048}},
    {128, 64, {1500, 700, 2100}},
};

INSTANTIATE_TEST_SUITE_P(Cases, WindowAttention,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Values(Numerics::kCoreNet, Numerics::kMasked),
                                            ::testing::Values(torch::kFloat, torch::kDouble)));

// The FFN's inference path (row chunks over the threads) against its autograd path.
TEST(FfnInference, MatchesThePlainPath) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    torch::manual_seed(8);
    PreNormFfn ffn(24, 96, 0.0);
    ffn->to(dtype);
    ffn->eval();
    {
      torch::NoGradGuard g;
      for (auto& p : ffn->parameters()) p.add_(torch::randn_like(p) * 0.1);
    }
    // 3 x 300 rows: several 256-row chunks and a short last one.
    auto y = torch::randn({3, 300, 24}, torch::TensorOptions().dtype(dtype));
    auto reference = (y + ffn->forward(y)).detach();
    torch::Tensor fast;
    {
      const test::ScopedThreads two_threads(2);  // chunks on LibTorch's worker threads
      c10::InferenceMode guard;
      fast = y.clone();
      ffn->add_to_inference(fast);
    }
    EXPECT_LE((fast - reference).abs().max().item<double>(), dtype == torch::kDouble ? 1e-12 : 1e-5);
  }
}

}  // namespace
}  // namespace byteformer
