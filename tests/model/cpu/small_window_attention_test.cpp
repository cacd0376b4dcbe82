// The hand-written small-window attention kernels (src/model/cpu/small_window_attention.h)
// against float64 LibTorch: probabilities (exactly 0 at masked keys), output, and the gradients
// of q, k and v, for window and head sizes from 1 to the largest the kernels take, rows strided
// as in the (tokens, 3C) qkv rows they read.
#include "model/cpu/small_window_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <tuple>

namespace byteformer {
namespace {

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

class SmallWindowAttention : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(SmallWindowAttention, MatchesFloat64) {
  const auto [w, d] = GetParam();
  torch::manual_seed(w * 100 + d);
  const int64_t C = 2 * d + 3;  // a wider row than one head, as in qkv
  auto qkv = torch::randn({w, 3 * C});
  auto key_valid = torch::rand({w}) > 0.3;
  key_valid[0] = true;  // at least one valid key
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float* base = qkv.data_ptr<float>() + 1;  // heads start off the row's start
  const SmallWindowHead head{base, base + C, base + 2 * C, 3 * C, key_valid.data_ptr<bool>(), w, d, scale};
  auto probs = torch::empty({w, w}), out = torch::empty({w, C});
  small_window_forward(head, probs.data_ptr<float>(), out.data_ptr<float>() + 2, C);
  auto dout = torch::randn({w, d});
  auto grads = torch::zeros({w, 3 * d + 5});
  float* g = grads.data_ptr<float>();
  small_window_backward(head, probs.data_ptr<float>(), dout.data_ptr<float>(), d, g, g + d, g + 2 * d, 3 * d + 5);

  // The reference: float64, with autograd for the gradients.
  auto q = qkv.slice(1, 1, 1 + d).to(torch::kDouble).requires_grad_(true);
  auto k = qkv.slice(1, 1 + C, 1 + C + d).to(torch::kDouble).requires_grad_(true);
  auto v = qkv.slice(1, 1 + 2 * C, 1 + 2 * C + d).to(torch::kDouble).requires_grad_(true);
  auto scores = torch::matmul(q, k.t()) * static_cast<double>(scale);
  scores = scores.masked_fill(key_valid.logical_not().unsqueeze(0), -std::numeric_limits<double>::infinity());
  auto p_ref = torch::softmax(scores, -1);
  auto o_ref = torch::matmul(p_ref, v);
  (o_ref * dout.to(torch::kDouble)).sum().backward();

  // float32 sums of up to 64 products and a float32 exp (about 2 ulp) against float64: within
  // a relative 2e-6 of the largest entry (float32's epsilon is 1.2e-7).
  auto near = [](const torch::Tensor& ours, const torch::Tensor& ref, const char* name) {
    EXPECT_LE(max_abs(ours.to(torch::kDouble) - ref), 2e-6 * std::max(1.0, max_abs(ref))) << name;
  };
  near(probs, p_ref.detach(), "probabilities");
  EXPECT_EQ(probs.masked_select(key_valid.logical_not().unsqueeze(0).expand({w, w})).abs().sum().item<float>(), 0.0f)
      << "masked keys must get exactly 0";
  near(out.slice(1, 2, 2 + d), o_ref.detach(), "output");
  near(grads.slice(1, 0, d), q.grad(), "dq");
  near(grads.slice(1, d, 2 * d), k.grad(), "dk");
  near(grads.slice(1, 2 * d, 3 * d), v.grad(), "dv");
  EXPECT_EQ(grads.slice(1, 3 * d).abs().sum().item<float>(), 0.0f) << "wrote past its rows";
}

INSTANTIATE_TEST_SUITE_P(Sizes, SmallWindowAttention,
                         ::testing::Values(std::make_tuple(int64_t{1}, int64_t{1}), std::make_tuple(int64_t{7}, int64_t{3}),
                                           std::make_tuple(int64_t{32}, int64_t{16}),
                                           std::make_tuple(int64_t{33}, int64_t{17}),
                                           // columns in blocks of 32, 16 and one by one; 16 x 16
                                           // transposes and their edges
                                           std::make_tuple(int64_t{48}, int64_t{40}),
                                           std::make_tuple(int64_t{50}, int64_t{24}),
                                           std::make_tuple(int64_t{64}, int64_t{64})));

}  // namespace
}  // namespace byteformer
