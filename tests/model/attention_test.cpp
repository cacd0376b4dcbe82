// MultiHeadAttention's inference path (row-major copy of the qkv weight) against autograd's.
#include <gtest/gtest.h>

#include "byteformer/model/attention.h"

namespace byteformer {
namespace {

TEST(Attention, InferenceMatchesAutogradAndFollowsWeightChanges) {
  torch::manual_seed(3);
  MultiHeadAttention attn(48, 3);
  auto x = torch::randn({5, 16, 48});
  auto key_valid = torch::rand({5, 16}) > 0.3;
  key_valid[2].fill_(false);  // a window without a valid key gives zeros
  auto reference = [&] { return attn->forward(x, key_valid).detach(); };  // grad mode: plain Linear
  auto inference = [&] {
    c10::InferenceMode guard;
    return attn->forward(x, key_valid);
  };
  EXPECT_LE((inference() - reference()).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(inference()[2].abs().max().item<double>(), 0.0);
  {
    torch::NoGradGuard g;
    attn->qkv_proj->weight.mul_(-0.5);  // in place: the cached copy must be rebuilt
  }
  auto after = inference();
  EXPECT_LE((after - reference()).abs().max().item<double>(), 1e-6);
  EXPECT_TRUE(torch::equal(after, inference()));
}

}  // namespace
}  // namespace byteformer
