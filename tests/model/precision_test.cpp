// The model under CPU bf16 autocast (training with common.mixed_precision).
#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "byteformer/model/attention.h"
#include "byteformer/model/byteformer.h"
#include "model/cpu/fast_linear.h"
#include "byteformer/model/inference.h"
#include "model/cpu/scoped_onednn.h"
#include "test_util.h"

namespace byteformer {
namespace {

struct CpuAutocast {  // the API changed in LibTorch 2.4
  CpuAutocast() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, true);
#else
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
#endif
  }
  ~CpuAutocast() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCPU, false);
#else
    at::autocast::set_cpu_enabled(false);
#endif
    at::autocast::clear_cache();
  }
};

class Autocast : public ::testing::TestWithParam<Numerics> {};

// The tiny preset (token merging included) with seeded weights, and three 1,500-byte inputs, the
// second with 600 bytes of batch padding.
ByteFormer seeded_model(int64_t n_classes, Numerics numerics, uint64_t seed) {
  auto o = ByteFormerOptions::preset("tiny");
  o.n_classes = n_classes;
  o.max_num_tokens = 1024;
  o.numerics = numerics;
  torch::manual_seed(seed);
  return ByteFormer(o);
}

torch::Tensor padded_inputs() {
  auto x = torch::randint(0, 256, {3, 1500}, torch::kLong);
  x.index_put_({1, torch::indexing::Slice(900, torch::indexing::None)}, -1);
  return x;
}

TEST_P(Autocast, ForwardAndBackwardRunInBf16AndStayCloseToFloat32) {
  auto model = seeded_model(4, GetParam(), 3);
  const auto x = padded_inputs();
  auto ref = model->forward(x).detach();
  torch::Tensor logits;
  {
    CpuAutocast guard;
    logits = model->forward(x);
  }
  EXPECT_EQ(logits.scalar_type(), torch::kFloat);  // the classifier's output is cast back
  logits.sum().backward();
  for (const auto& p : model->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
  }
  // bf16 keeps 8 bits of mantissa: logits of this random model stay within 0.1.
  EXPECT_LE((logits.detach().to(torch::kFloat) - ref).abs().max().item<double>(), 0.1);
}

INSTANTIATE_TEST_SUITE_P(BothModes, Autocast, ::testing::Values(Numerics::kCoreNet, Numerics::kMasked));

// Inference under autocast (`eval --mixed-precision`), called on the module itself: its products
// are autocast's bf16 ones (the blocks' inference path, above, decides for itself).
TEST(Autocast, InferenceProjectionsRunInBf16) {
  MultiHeadAttention attn(48, 3);
  auto x = torch::randn({2, 16, 48});
  CpuAutocast guard;
  c10::InferenceMode inference;
  EXPECT_EQ(attn->project_qkv(x).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(attn->forward(x).scalar_type(), torch::kBFloat16);
}

// Inference under bf16 autocast where linear_into has bf16 products (cpu_parallel.h,
// InferencePath::kBf16): the float32 inference paths with the linear layers' products in bf16,
// the residual stream, norms, attention and token merging's sums in float32. Against float32 and
// against autocast's own modules (the path taken with oneDNN off), on a model with token
// merging, batch padding and both numerics.
TEST_P(Autocast, Bf16InferencePathStaysCloseToFloat32) {
  if (!bf16_products()) GTEST_SKIP() << "no bf16 products here (oneDNN off or a CPU without bf16 arithmetic)";
  auto model = seeded_model(10, GetParam(), 4);
  model->eval();
  const auto x = padded_inputs();
  c10::InferenceMode inference;
  const auto ref = model->forward(x);  // float32
  torch::Tensor fast, modules;
  {
    CpuAutocast guard;
    fast = model->forward(x);
    const test::ScopedOneDnn off(false);  // no bf16 products: autocast's modules
    modules = model->forward(x);
  }
  EXPECT_EQ(fast.scalar_type(), torch::kFloat);
  const double scale = ref.abs().max().item<double>();
  // 8 bits of mantissa in each product's inputs, float32 everywhere else.
  EXPECT_LE((fast - ref).abs().max().item<double>(), 0.02 * scale) << "scale " << scale;
  EXPECT_LE((fast - modules).abs().max().item<double>(), 0.04 * scale);
  EXPECT_TRUE(torch::equal(fast.argmax(1), ref.argmax(1)));
  EXPECT_FALSE(torch::equal(fast, ref)) << "the products ran in float32";
  EXPECT_FALSE(torch::equal(fast, modules)) << "the blocks ran autocast's modules, not the inference path";
}

}  // namespace
}  // namespace byteformer
