// Windowing, shifting, merging order and masks against small hand-computed cases.
#include <gtest/gtest.h>

#include "byteformer/model/attention.h"
#include "byteformer/model/token_merging.h"
#include "byteformer/model/windowing.h"
#include "test_util.h"

namespace byteformer {
namespace {

std::vector<float> flat(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

torch::Tensor seq(std::vector<float> values) {  // (1, N, 1)
  const int64_t n = static_cast<int64_t>(values.size());
  return torch::tensor(values).view({1, n, 1});
}

TEST(Windowing, CoreNetPadsRollsLeftAndCuts) {
  // [1..5], w=4, shift=1: pad -> [1,2,3,4,5,0,0,0]; roll left 1 -> [2,3,4,5,0,0,0,1].
  auto w = corenet_window(seq({1, 2, 3, 4, 5}), /*window=*/4, /*shift=*/1);
  EXPECT_EQ(w.sizes(), torch::IntArrayRef({2, 4, 1}));
  EXPECT_EQ(flat(w), (std::vector<float>{2, 3, 4, 5, 0, 0, 0, 1}));
  EXPECT_EQ(flat(corenet_unwindow(w, 1, 5, 1)), (std::vector<float>{1, 2, 3, 4, 5}));
}

TEST(Windowing, CoreNetShiftLargerThanWindowRotatesWholeWindows) {
  // w=2, shift=4 on [1..6]: roll left 4 -> [5,6,1,2,3,4].
  auto w = corenet_window(seq({1, 2, 3, 4, 5, 6}), 2, 4);
  EXPECT_EQ(flat(w), (std::vector<float>{5, 6, 1, 2, 3, 4}));
  EXPECT_EQ(flat(corenet_unwindow(w, 1, 6, 4)), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Windowing, MaskedWindowsAlignAtTheShiftWithoutWrapping) {
  // w=4, shift=2: windows are tokens {0,1} and {2,3,4,5}: two padding slots go in front.
  auto m = masked_window(seq({1, 2, 3, 4, 5, 6}), torch::tensor({6}, torch::kLong), 4, 2);
  EXPECT_EQ(m.left_pad, 2);
  EXPECT_EQ(m.padded_len, 8);
  EXPECT_EQ(flat(m.windows), (std::vector<float>{0, 0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(flat(m.key_valid), (std::vector<float>{0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(flat(masked_unwindow(m.windows, m, 1, 6)), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Windowing, MaskedValidLengthMasksTheTail) {
  auto m = masked_window(seq({1, 2, 3, 4, 5, 6}), torch::tensor({3}, torch::kLong), 4, 2);
  EXPECT_EQ(flat(m.key_valid), (std::vector<float>{0, 0, 1, 1, 1, 0, 0, 0}));
  // No shift: plain windows, right padding only.
  auto p = masked_window(seq({1, 2, 3, 4, 5}), torch::tensor({5}, torch::kLong), 4, 0);
  EXPECT_EQ(p.left_pad, 0);
  EXPECT_EQ(flat(p.windows), (std::vector<float>{1, 2, 3, 4, 5, 0, 0, 0}));
  EXPECT_EQ(flat(p.key_valid), (std::vector<float>{1, 1, 1, 1, 1, 0, 0, 0}));
  // A shift that is a multiple of w (the w=32 configs' shift 64) changes nothing in masked mode.
  auto q = masked_window(seq({1, 2, 3, 4, 5}), torch::tensor({5}, torch::kLong), 4, 8);
  EXPECT_EQ(q.left_pad, 0);
}

TEST(Windowing, PrefixMask) {
  auto m = prefix_mask(torch::tensor({2, 0, 3}, torch::kLong), 3);
  EXPECT_EQ(flat(m), (std::vector<float>{1, 1, 0, 0, 0, 0, 1, 1, 1}));
}

TEST(TokenMerging, PairsAreChannelMajorAndOddLengthGetsAZeroToken) {
  torch::manual_seed(0);
  TokenMerging merge(2);
  torch::NoGradGuard g;
  // Weight row o picks feature o of the 2C = 4 pair features; norm params random.
  merge->reduction->weight.copy_(torch::tensor({{1.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 1.f}}));
  merge->norm->weight.copy_(torch::tensor({1.5f, 0.5f}));
  merge->norm->bias.copy_(torch::tensor({0.25f, -0.75f}));
  // Tokens a=(1,2), b=(3,5), c=(7,11). Channel-major pair (a,b) = [a0, b0, a1, b1] = [1,3,2,5].
  auto x = torch::tensor({1.f, 2.f, 3.f, 5.f, 7.f, 11.f}).view({1, 3, 2});
  auto y = merge->forward(x, nullptr);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({1, 2, 2}));
  // Pair 0 -> (feature 0, feature 3) = (a0, b1) = (1, 5); pair 1 = (c, pad) -> (c0, 0) = (7, 0).
  auto expected = torch::layer_norm(torch::tensor({1.f, 5.f, 7.f, 0.f}).view({1, 2, 2}), {2},
                                    merge->norm->weight, merge->norm->bias, 1e-5);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-6, 1e-6)) << y << expected;
}

TEST(TokenMerging, MaskedTokensAreZeroedAndLengthsHalveRoundingUp) {
  TokenMerging merge(2);
  torch::NoGradGuard g;
  merge->reduction->weight.copy_(torch::tensor({{1.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 1.f}}));
  auto x = torch::tensor({1.f, 2.f, 3.f, 5.f, 7.f, 11.f, 13.f, 17.f}).view({2, 2, 2});
  auto valid = torch::tensor({1, 2}, torch::kLong);
  auto y = merge->forward(x, &valid);
  // Row 0 keeps token a only: pair (a, 0) -> (a0, 0) = (1, 0). Row 1: (7, 17).
  auto expected = torch::layer_norm(torch::tensor({1.f, 0.f, 7.f, 17.f}).view({2, 1, 2}), {2},
                                    merge->norm->weight, merge->norm->bias, 1e-5);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-6, 1e-6));
  EXPECT_EQ(flat(valid), (std::vector<float>{1, 1}));
}

// The inference path (pair rows in 256-row chunks over two threads, read in place where every
// token is real) against the autograd path, with rows longer than a chunk, odd lengths and
// masked tails that start inside, at the edge of and before a chunk.
TEST(TokenMerging, InferenceMatchesTheAutogradPath) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    torch::manual_seed(3);
    TokenMerging merge(16);
    merge->to(dtype);
    {
      torch::NoGradGuard g;
      for (auto& p : merge->parameters()) p.add_(torch::randn_like(p) * 0.1);
    }
    for (int64_t N : {1, 2, 511, 512, 513, 1201}) {
      auto x = torch::randn({4, N, 16}, torch::TensorOptions().dtype(dtype));
      const std::vector<int64_t> lengths{N, std::max<int64_t>(1, N - 1), (N + 1) / 2, std::min<int64_t>(N, 3)};
      for (bool masked : {false, true}) {
        auto valid_ref = torch::tensor(lengths, torch::kLong), valid_fast = valid_ref.clone();
        auto reference = merge->forward(x, masked ? &valid_ref : nullptr).detach();  // autograd on
        torch::Tensor fast;
        const auto x_before = x.clone();
        {
          const test::ScopedThreads two_threads(2);
          c10::InferenceMode guard;
          fast = merge->forward(x, masked ? &valid_fast : nullptr);
        }
        EXPECT_TRUE(torch::equal(x, x_before));
        ASSERT_EQ(fast.sizes(), reference.sizes());
        EXPECT_LE((fast - reference).abs().max().item<double>(), dtype == torch::kDouble ? 1e-12 : 1e-5)
            << "N " << N << " masked " << masked;
        if (masked) EXPECT_TRUE(torch::equal(valid_fast, valid_ref));
      }
    }
  }
}

TEST(Attention, MaskedKeysAreIgnoredAndEmptyWindowsGiveZeros) {
  torch::manual_seed(1);
  MultiHeadAttention mha(8, 2);
  auto x = torch::randn({2, 4, 8});
  auto valid = torch::tensor({1, 1, 0, 0, 0, 0, 0, 0}, torch::kBool).view({2, 4});
  auto out = mha->forward(x, valid);
  // Window 0: queries 0 and 1 see keys 0 and 1 only = attention over the 2-token window.
  auto ref = mha->forward(x.slice(0, 0, 1).slice(1, 0, 2));
  EXPECT_TRUE(torch::allclose(out.slice(0, 0, 1).slice(1, 0, 2), ref, 1e-6, 1e-6));
  // Window 1 has no valid key: zeros, never NaN.
  EXPECT_EQ(out[1].abs().sum().item<float>(), 0.0f);
  EXPECT_FALSE(out.isnan().any().item<bool>());
}

TEST(Attention, MatchesAHandComputedSoftmax) {
  // One head pair with identity projections: out = softmax(q k^T / sqrt(d)) v.
  MultiHeadAttention mha(2, 2);  // d = 1 per head
  torch::NoGradGuard g;
  mha->qkv_proj->weight.copy_(torch::cat({torch::eye(2), torch::eye(2), torch::eye(2)}, 0));
  mha->qkv_proj->bias.zero_();
  mha->out_proj->weight.copy_(torch::eye(2));
  mha->out_proj->bias.zero_();
  auto x = torch::tensor({1.f, 0.f, 2.f, 1.f}).view({1, 2, 2});  // tokens (1,0), (2,1)
  auto out = mha->forward(x);
  // Head 0 (channel 0): q=k=v=(1,2). Query 1: weights softmax(1*1, 1*2) -> e/(e+e^2), e^2/(e+e^2).
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e4 = std::exp(4.0);
  const double h0q0 = (e1 * 1 + e2 * 2) / (e1 + e2), h0q1 = (e2 * 1 + e4 * 2) / (e2 + e4);
  // Head 1 (channel 1): q=k=v=(0,1). Query 0 scores (0,0) -> 0.5; query 1 scores (0,1).
  const double h1q0 = 0.5, h1q1 = std::exp(1.0) / (1 + std::exp(1.0));
  auto expected = torch::tensor({h0q0, h1q0, h0q1, h1q1}, torch::kFloat).view({1, 2, 2});
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6)) << out;
}

}  // namespace
}  // namespace byteformer
