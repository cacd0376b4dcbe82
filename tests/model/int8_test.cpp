// int8 inference (precision.h's Int8InferenceGuard, fast_linear.h's int8 products): the s32 sums
// against an exact integer reference, the quantization's round trips, linear_into against the
// same quantized operands in float64, and the model in int8 against float32 on the CoreNet
// fixture model (shared/fixtures/corenet-tiny-k8-w32).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "byteformer/model/inference.h"
#include "byteformer/model/model_loader.h"
#include "byteformer/model/precision.h"
#include "model/cpu/fast_linear.h"
#include "model/predict_files.h"
#include "test_util.h"

namespace byteformer {
namespace {

#define SKIP_WITHOUT_INT8()                                                       \
  do {                                                                            \
    if (!int8_products()) GTEST_SKIP() << "no int8 products here: " << int8_products_missing(); \
  } while (0)

// x (M, K) float32 with rows of every kind the activations have: mixed signs, all positive
// (after GELU, mostly), all negative, all zero, one value, and a wide range.
torch::Tensor awkward_rows(int64_t M, int64_t K) {
  auto x = torch::randn({M, K});
  x[1] = x[1].abs() + 0.5;
  x[2] = -x[2].abs() * 3;
  x[3].zero_();
  x[4].zero_();
  x[4][7] = 2.5;
  x[5] *= 1000;
  x[6] *= 1e-3;
  return x;
}

// The s32 sums oneDNN gives are those of the integers: compared with int64 products of the same
// u8 rows and s8 weights, bit for bit, with the extremes (255 x +-127 over all of K) included,
// where a kernel that sums pairs in 16 bits would saturate.
TEST(Int8, SumsEqualAnExactIntegerProduct) {
  SKIP_WITHOUT_INT8();
  torch::manual_seed(1);
  for (const auto& [K, N] : {std::pair<int64_t, int64_t>{192, 576}, {768, 192}, {64, 10}}) {
    const int64_t M = 300;  // a whole 256-row chunk and a short one
    const auto w = quantize_weight(torch::randn({N, K}));
    auto q = torch::randint(0, 256, {M, K}, torch::kLong).to(torch::kByte);
    q[0].fill_(255);
    q[1].zero_();
    auto extreme = w.weight.clone();
    extreme[0].fill_(127);
    extreme[1].fill_(-127);
    const LinearWeight e = quantize_weight(extreme.to(torch::kFloat));
    for (const auto* weight : {&w, &e}) {
      const auto got = int8_sums(q, *weight);
      const auto want = torch::mm(q.to(torch::kLong), weight->weight.to(torch::kLong).t());  // (M, N) exact
      ASSERT_EQ(got.scalar_type(), torch::kInt);
      EXPECT_TRUE(torch::equal(got.to(torch::kLong), want)) << "K " << K << " N " << N;
    }
    EXPECT_EQ(int8_sums(q, e)[0][0].item<int64_t>(), 255 * 127 * K);
  }
}

// Every activation comes back within half a step of itself (plus float32 rounding of x / scale:
// 1e-4 of a step bounds it, 255 values of relative error 2^-23), 0 comes back exactly, and a
// row's scale and zero point are its own.
TEST(Int8, RowsRoundTripWithinHalfAStep) {
  torch::manual_seed(2);
  const auto x = awkward_rows(40, 192);
  const auto q = quantize_rows(x);
  const auto scale = q.scales.unsqueeze(1), zero = q.zero_points.unsqueeze(1).to(torch::kFloat);
  const auto back = (q.values.to(torch::kFloat) - zero) * scale;  // (M, K)
  const auto error = (back - x).abs();
  EXPECT_TRUE((error <= scale * (0.5 + 1e-4)).all().item<bool>()) << "worst in steps: " << (error / scale).max();
  EXPECT_TRUE((back.masked_select(x == 0) == 0).all().item<bool>());
  EXPECT_EQ(q.scales[3].item<float>(), 1.f);  // a row of zeros
  EXPECT_EQ(q.zero_points[1].item<int32_t>(), 0);  // all positive: zero at the bottom
  EXPECT_EQ(q.zero_points[2].item<int32_t>(), 255);  // all negative: zero at the top
  // The values span the range: the row's extreme values land on 0 and 255.
  EXPECT_EQ(q.values[0].max().item<uint8_t>(), 255);
  EXPECT_EQ(q.values[0].min().item<uint8_t>(), 0);
  const auto alone = quantize_rows(x.slice(0, 5, 6));
  EXPECT_TRUE(torch::equal(alone.values[0], q.values[5]));
}

// Weights per output channel, symmetric: within half a step of their value (the same float32
// rounding allowance), the largest magnitude of each row on +-127, sums of the int8 values.
TEST(Int8, WeightsRoundTripWithinHalfAStep) {
  torch::manual_seed(3);
  auto w = torch::randn({64, 192}) * torch::rand({64, 1});
  w[3].zero_();
  const auto q = quantize_weight(w);
  ASSERT_EQ(q.weight.scalar_type(), torch::kChar);
  const auto scale = q.scales.unsqueeze(1);
  const auto error = (q.weight.to(torch::kFloat) * scale - w).abs();
  EXPECT_TRUE((error <= scale * (0.5 + 1e-4)).all().item<bool>()) << "worst in steps: " << (error / scale).max();
  EXPECT_EQ(q.weight.abs().to(torch::kInt).amax(1).slice(0, 0, 3).min().item<int32_t>(), 127);
  EXPECT_EQ(q.scales[3].item<float>(), 1.f);
  EXPECT_TRUE(torch::equal(q.sums, q.weight.to(torch::kInt).sum(1, false, torch::kInt)));
}

// linear_into with an int8 weight against the float64 product of the same quantized operands
// (each row of x dequantized, the weight dequantized), with the bias and each epilogue. What
// separates them is float32 rounding in the dequantization (a few ulp of each output) and the
// GELU's erf (Abramowitz-Stegun, 1.5e-7): tolerance 1e-5 relative plus 1e-5 absolute.
TEST(Int8, LinearMatchesItsQuantizedOperands) {
  SKIP_WITHOUT_INT8();
  torch::manual_seed(4);
  torch::NoGradGuard no_grad;
  const int64_t M = 300, K = 192, N = 256;
  const auto x = awkward_rows(M, K).slice(0, 0, M);
  const auto W = torch::randn({N, K}) * 0.05, b = torch::randn({N});
  const auto w = quantize_weight(W);
  const auto q = quantize_rows(x);
  const auto xd = (q.values.to(torch::kDouble) - q.zero_points.unsqueeze(1).to(torch::kDouble)) *
                  q.scales.unsqueeze(1).to(torch::kDouble);                       // (M, K)
  const auto wd = w.weight.to(torch::kDouble) * w.scales.unsqueeze(1).to(torch::kDouble);  // (N, K)
  const auto y = torch::mm(xd, wd.t()) + b.to(torch::kDouble);                  // (M, N)
  const auto residual = torch::randn({M, N});
  for (const auto epilogue : {LinearEpilogue::kStore, LinearEpilogue::kGelu, LinearEpilogue::kAccumulate}) {
    auto out = epilogue == LinearEpilogue::kAccumulate ? residual.clone() : torch::empty({M, N});
    linear_into(out, x, w, b, epilogue);
    torch::Tensor want = y;
    if (epilogue == LinearEpilogue::kGelu) want = torch::gelu(y);
    if (epilogue == LinearEpilogue::kAccumulate) want = y + residual.to(torch::kDouble);
    const auto diff = (out.to(torch::kDouble) - want).abs();
    EXPECT_TRUE((diff <= 1e-5 + 1e-5 * want.abs()).all().item<bool>())
        << "epilogue " << static_cast<int>(epilogue) << ": largest difference " << diff.max().item<double>();
  }
  // A row's result is its own: row 5 alone, bit for bit as in the 300-row call.
  auto all = torch::empty({M, N}), one = torch::empty({1, N});
  linear_into(all, x, w, b, LinearEpilogue::kStore);
  linear_into(one, x.slice(0, 5, 6), w, b, LinearEpilogue::kStore);
  EXPECT_TRUE(torch::equal(one[0], all[5]));
}

// ProductWeight under the guard: an int8 copy, kept while the weight is unchanged, made again
// when it changes; outside the guard the weight itself.
TEST(Int8, ProductWeightTakesTheInt8CopyUnderTheGuard) {
  SKIP_WITHOUT_INT8();
  torch::NoGradGuard no_grad;
  auto W = torch::randn({8, 16});
  ProductWeight cache;
  EXPECT_TRUE(cache.get(W, false).weight.is_same(W));
  Int8InferenceGuard int8(true);
  EXPECT_TRUE(int8_inference_enabled());
  const auto a = cache.get(W, false);
  ASSERT_TRUE(a.int8());
  EXPECT_TRUE(torch::equal(a.weight, quantize_weight(W).weight));
  EXPECT_TRUE(cache.get(W, false).weight.is_same(a.weight));
  W.mul_(2);
  EXPECT_FALSE(cache.get(W, false).weight.is_same(a.weight));
  {
    Int8InferenceGuard off(false);  // a guard that is off leaves the state as it was
    EXPECT_TRUE(int8_inference_enabled());
  }
}

TEST(Int8, PrecisionSpellingAndWhereItRuns) {
  EXPECT_EQ(parse_precision("int8"), Precision::kInt8);
  EXPECT_STREQ(to_string(Precision::kInt8), "int8");
  EXPECT_FALSE(int8_inference_enabled());
  EXPECT_THROW(resolve_precision(Precision::kInt8, false, c10::DeviceType::CUDA), std::runtime_error);
  if (int8_products()) {
    EXPECT_EQ(resolve_precision(Precision::kInt8, true, c10::DeviceType::CPU), Precision::kInt8);
    EXPECT_TRUE(int8_unavailable_reason().empty());
  } else {
    try {
      resolve_precision(Precision::kInt8, false, c10::DeviceType::CPU);
      ADD_FAILURE() << "int8 resolved where it cannot run";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("int8 products need"), std::string::npos) << e.what();
    }
  }
}

// The fixture model (CoreNet's weights, ten files, each alone and as a batch) in int8 against
// float32: the same top-1 for every file, and logits within 3% of the largest float32 logit
// (|logit| up to 2.75 here; measured: 0.047 in CoreNet's numerics, 0.058 masked, i.e. 1.8-2.1%:
// 8-bit activations and weights through every linear layer of 12 blocks).
TEST(Int8, FixtureModelKeepsItsTopOneInInt8) {
  SKIP_WITHOUT_INT8();
  const std::string dir = test::fixtures_dir() + "/corenet-tiny-k8-w32";
  std::vector<std::string> files;
  for (const char* f : {"img0_32px.jpg", "img0_32px.png", "img0_32px.tiff", "img1_40px.jpg", "img1_40px.png",
                        "img1_40px.tiff", "img2_48px.jpg", "img2_48px.png", "img2_48px.tiff", "tone0.wav"})
    files.push_back(dir + "/inputs/" + f);
  for (const auto numerics : {Numerics::kCoreNet, Numerics::kMasked}) {
    ModelSpec spec;
    spec.config_path = dir + "/config.yaml";
    spec.weights = dir + "/model.pt";
    spec.numerics = numerics;
    auto m = load_model(spec);
    const auto f32 = test::predict_files(m.model, files, /*batch_size=*/1, /*k=*/1, {});
    std::vector<Classification> int8, int8_batch;
    {
      Int8InferenceGuard guard(true);
      int8 = test::predict_files(m.model, files, /*batch_size=*/1, /*k=*/1, {});
      int8_batch = test::predict_files(m.model, files, /*batch_size=*/4, /*k=*/1, {});
    }
    double most = 0, span = 0;
    for (size_t i = 0; i < files.size(); ++i) {
      EXPECT_EQ(int8[i].top[0].index, f32[i].top[0].index) << files[i];
      for (size_t c = 0; c < f32[i].logits.size(); ++c) {
        most = std::max(most, std::abs(static_cast<double>(int8[i].logits[c]) - f32[i].logits[c]));
        span = std::max(span, std::abs(static_cast<double>(f32[i].logits[c])));
      }
      if (numerics == Numerics::kMasked) EXPECT_EQ(int8_batch[i].logits, int8[i].logits) << files[i];
    }
    std::cout << "[ int8     ] numerics " << (numerics == Numerics::kCoreNet ? "corenet" : "masked")
              << ": largest logit difference int8 - float32 " << most << " (largest |logit| " << span << ")\n";
    EXPECT_GT(most, 0.0);  // int8 did run
    EXPECT_LT(most, 0.03 * span);
  }
}

}  // namespace
}  // namespace byteformer
