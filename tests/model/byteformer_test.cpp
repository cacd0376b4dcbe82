// ByteFormer forward: batch independence (masked), CoreNet grouping, input errors, presets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "byteformer/io/checkpoint.h"
#include "byteformer/model/byteformer.h"
#include "byteformer/model/inference.h"
#include "byteformer/runtime/runtime.h"
#include "test_util.h"

namespace byteformer {
namespace {

ByteFormerOptions small_options(const std::string& mode, Numerics numerics) {
  auto o = ByteFormerOptions::preset(mode);
  o.n_classes = 7;
  o.max_num_tokens = 512;
  o.numerics = numerics;
  if (o.num_layers != 12) {  // huge: CoreNet's defaults list 12 layers; give 32
    o.window_shifts.clear();
    o.downsample.clear();
    for (int64_t i = 0; i < o.num_layers; ++i) {
      o.window_shifts.push_back(i % 2 ? 64 : 0);
      o.downsample.push_back(i < 8 && i % 2 == 1);
    }
  }
  return o;
}

// Every parameter perturbed, so that LayerNorm biases are non-zero and padding would show.
void randomise(ByteFormer& m, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.add_(torch::randn_like(p) * 0.05);
}

std::vector<uint8_t> random_bytes(int64_t n, uint64_t seed) {
  auto t = torch::randint(0, 256, {n}, torch::TensorOptions().dtype(torch::kLong));
  (void)seed;
  std::vector<uint8_t> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(t[i].item<int64_t>());
  return out;
}

class MaskedPresets : public ::testing::TestWithParam<std::string> {};

TEST_P(MaskedPresets, LogitsAloneEqualLogitsInAPaddedBatch) {
  torch::manual_seed(2);  // the initial weights too, whichever test ran before in this process
  ByteFormer model(small_options(GetParam(), Numerics::kMasked));
  randomise(model, 3);
  model->eval();
  torch::manual_seed(11);
  // Lengths chosen to hit partial windows, odd merges and shifted layers differently; the last
  // one is a single token (16 bytes, k=16).
  std::vector<std::vector<uint8_t>> samples{random_bytes(2100, 1), random_bytes(333, 2), random_bytes(1017, 3),
                                            random_bytes(40, 4), random_bytes(16, 5)};
  torch::NoGradGuard g;
  auto run = [&]() {
    std::vector<torch::Tensor> out{model->forward(pad_batch(samples))};
    for (const auto& s : samples) out.push_back(model->forward(pad_batch({s}))[0]);
    return out;  // [0]: the padded batch; [1 + i]: sample i alone
  };
  const auto f32 = run();
  model->to(torch::kDouble);
  const auto f64 = run();
  double noise = 0;   // float32's own rounding: each sample alone, float32 against float64
  double scale = 0;   // the logits' size
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& ref = f64[1 + i];
    noise = std::max(noise, (f32[1 + i].to(torch::kDouble) - ref).abs().max().item<double>());
    scale = std::max(scale, ref.abs().max().item<double>());
  }
  // The float32 path (the CPU fast kernels) computes what the float64 plain path does, to
  // float32 rounding: a relative 1e-4 of the logits' size bounds it with room to spare
  // (measured: about 1e-6 relative for huge's 32 layers).
  EXPECT_LE(noise, 1e-4 * scale) << GetParam() << ": float32 against float64, logits up to " << scale;
  double batched = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto row = static_cast<int64_t>(i);
    batched = std::max(batched, (f32[0][row] - f32[1 + i]).abs().max().item<double>());
    // float64: the masking is exact, so a sample in a padded batch and alone agree to rounding of
    // doubles.
    EXPECT_LE((f64[0][row] - f64[1 + i]).abs().max().item<double>(), 1e-9) << GetParam() << " float64 sample " << i;
    // float32: batching changes only the summation order of the products (how BLAS blocks them
    // depends on the number of rows, the CPU's vector width and the library: OpenBLAS or MKL),
    // so a batched result may differ from the one alone by float32's own rounding, measured
    // above in this run: four times it leaves room for the batched rounding being the larger.
    // A masking error is orders of magnitude larger (a padded key attended to moves logits by
    // 1e-2 or more).
    EXPECT_LE((f32[0][row] - f32[1 + i]).abs().max().item<double>(), 4 * noise + 1e-7)
        << GetParam() << " float32 sample " << i << " (float32 rounding here: " << noise << ")";
  }
  std::printf("%s: logits up to %.3g; float32 rounding %.3g; float32 batched against alone up to %.3g\n",
              GetParam().c_str(), scale, noise, batched);
}

INSTANTIATE_TEST_SUITE_P(AllPresets, MaskedPresets, ::testing::Values("tiny", "small", "base", "huge"));

TEST(ByteFormer, CoreNetModeGroupsRowsByLength) {
  ByteFormer model(small_options("tiny", Numerics::kCoreNet));
  randomise(model, 5);
  model->eval();
  torch::manual_seed(12);
  std::vector<std::vector<uint8_t>> samples{random_bytes(700, 1), random_bytes(300, 2), random_bytes(700, 3)};
  torch::NoGradGuard g;
  auto batch = model->forward(pad_batch(samples));
  for (size_t i = 0; i < samples.size(); ++i) {
    auto alone = model->forward(pad_batch({samples[i]}));
    EXPECT_TRUE(torch::allclose(batch[static_cast<int64_t>(i)], alone[0], 0, 1e-5)) << i;
  }
}

TEST(ByteFormer, CoreNetModeAttendsToWindowPaddingMaskedModeDoesNot) {
  // With 300 bytes, k=16: 36 tokens, not a multiple of the 128 window: the modes must differ.
  auto o = small_options("tiny", Numerics::kCoreNet);
  ByteFormer model(o);
  randomise(model, 6);
  model->eval();
  torch::NoGradGuard g;
  torch::manual_seed(13);
  auto x = pad_batch({random_bytes(300, 1)});
  auto corenet = model->forward(x);
  model->set_numerics(Numerics::kMasked);
  auto masked = model->forward(x);
  EXPECT_GT((corenet - masked).abs().max().item<float>(), 1e-4);
}

TEST(ByteFormer, SinusoidalAndNoConvVariantsRun) {
  auto o = small_options("tiny", Numerics::kMasked);
  o.sinusoidal_pos_emb = true;
  o.conv_kernel_size = 0;
  ByteFormer model(o);
  model->eval();
  torch::NoGradGuard g;
  auto logits = model->forward(pad_batch({random_bytes(200, 1), random_bytes(50, 2)}));
  EXPECT_EQ(logits.sizes(), torch::IntArrayRef({2, 7}));
  EXPECT_FALSE(logits.isnan().any().item<bool>());
  // The sinusoidal table is a buffer: in the state_dict, not a parameter.
  bool in_state = false;
  for (const auto& kv : model->state_dict()) in_state |= kv.first == "pos_embed.pos_embed.pos_embed";
  EXPECT_TRUE(in_state);
  for (const auto& kv : model->named_parameters()) EXPECT_NE(kv.key(), "pos_embed.pos_embed.pos_embed");
  // First row: sin(0)=0 for the first half, cos(0)=1 for the second.
  auto row0 = model->pos_embed->pos_embed->pos_embed[0][0][0];
  EXPECT_EQ(row0[0].item<float>(), 0.0f);
  EXPECT_EQ(row0[o.embed_dim / 2].item<float>(), 1.0f);
}

TEST(ByteFormer, StateDictNamesAreCoreNets) {
  ByteFormer model(small_options("tiny", Numerics::kMasked));
  std::set<std::string> names;
  for (const auto& kv : model->state_dict()) names.insert(kv.first);
  for (const char* k : {"embeddings.weight", "token_reduction_net.weight", "pos_embed.pos_embed.pos_embed",
                        "transformer.0.pre_norm_mha.0.weight", "transformer.0.pre_norm_mha.1.qkv_proj.weight",
                        "transformer.0.pre_norm_mha.1.out_proj.bias", "transformer.11.pre_norm_ffn.1.weight",
                        "transformer.11.pre_norm_ffn.4.bias", "downsamplers.downsample_0.reduction.weight",
                        "downsamplers.downsample_9.norm.bias", "post_transformer_norm.weight", "classifier.bias"})
    EXPECT_TRUE(names.count(k)) << k;
  EXPECT_FALSE(names.count("downsamplers.downsample_2.reduction.weight"));
}

TEST(ByteFormer, PaddingRowIsZeroAndGetsNoGradient) {
  ByteFormer model(small_options("tiny", Numerics::kMasked));
  EXPECT_EQ(model->embeddings->weight[256].abs().sum().item<float>(), 0.0f);
  auto x = pad_batch({random_bytes(400, 1), random_bytes(100, 2)});
  model->forward(x).sum().backward();
  EXPECT_EQ(model->embeddings->weight.grad()[256].abs().sum().item<float>(), 0.0f);
  EXPECT_GT(model->embeddings->weight.grad().abs().sum().item<float>(), 0.0f);
}

// CoreNet's numerics refuse a row shorter than the kernel (CoreNet cannot run it); masked
// numerics make it one token of its bytes and padding.
TEST(ByteFormerErrors, InputShorterThanTheKernel) {
  ByteFormer corenet(small_options("tiny", Numerics::kCoreNet));
  try {
    corenet->forward(pad_batch({random_bytes(100, 1), random_bytes(15, 2)}));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sample 1: input has 15 bytes, fewer than conv_kernel_size 16"),
              std::string::npos)
        << e.what();
  }
  ByteFormer masked(small_options("tiny", Numerics::kMasked));
  masked->eval();
  torch::NoGradGuard no_grad;
  const auto both = masked->forward(pad_batch({random_bytes(100, 1), random_bytes(15, 2)}));
  const auto three = masked->forward(pad_batch({random_bytes(3, 3)}));  // 3 columns, padded inside
  const auto other = masked->forward(pad_batch({random_bytes(3, 4)}));
  EXPECT_TRUE(torch::isfinite(both).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(three).all().item<bool>());
  EXPECT_FALSE(torch::allclose(three[0], other[0]));  // the bytes count
  EXPECT_EQ(masked->options().tokens_after_conv(3), 1);
  EXPECT_THROW(corenet->options().tokens_after_conv(3), std::invalid_argument);
  EXPECT_THROW(masked->forward(torch::full({1, 20}, -1, torch::kLong)), std::invalid_argument);  // all padding
}

TEST(ByteFormerErrors, InputLongerThanMaxNumTokens) {
  ByteFormer model(small_options("tiny", Numerics::kCoreNet));  // max 512 tokens
  // (L - 16) / 8 + 1 = 513 tokens for L = 4112.
  try {
    model->forward(pad_batch({random_bytes(4112, 1)}));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("513 tokens after the Conv1d, more than max_num_tokens 512"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(model->forward(pad_batch({random_bytes(4104, 1)})));  // exactly 512 tokens
}

TEST(ByteFormerErrors, BadValuesAndShapes) {
  ByteFormer model(small_options("tiny", Numerics::kMasked));
  EXPECT_THROW(model->forward(torch::full({1, 64}, 256, torch::kLong)), std::invalid_argument);
  EXPECT_THROW(model->forward(torch::full({1, 64}, -2, torch::kLong)), std::invalid_argument);
  EXPECT_THROW(model->forward(torch::zeros({64}, torch::kLong)), std::invalid_argument);
  EXPECT_THROW(model->forward(torch::zeros({1, 64}, torch::kFloat)), std::invalid_argument);
  EXPECT_THROW(model->forward(torch::zeros({0, 64}, torch::kLong)), std::invalid_argument);
  // uint8 input is fine (values 0..255, no padding).
  EXPECT_NO_THROW(model->forward(torch::randint(0, 256, {2, 64}, torch::kByte)));
}

TEST(ByteFormerErrors, LoadStateDictNamesTheWrongShapeMissingOrUnexpectedKey) {
  ByteFormerOptions o = ByteFormerOptions::preset("tiny");
  o.n_classes = 10;
  o.max_num_tokens = 2048;
  o.conv_kernel_size = 8;
  o.window_sizes = {32};
  ByteFormer model(o);
  auto state = load_state_dict(test::fixtures_dir() + "/corenet-tiny-k8-w32/model.pt");
  EXPECT_NO_THROW(model->load_state_dict(state, "model.pt"));
  auto wrong = state;
  wrong[1].second = torch::zeros({192, 192, 4});
  try {
    model->load_state_dict(wrong, "model.pt");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("key 'token_reduction_net.weight' has shape [192, 192, 4], the model "
                                         "expects [192, 192, 8]"),
              std::string::npos)
        << e.what();
  }
  auto missing = state;
  missing.erase(missing.begin() + 5);
  EXPECT_THROW(model->load_state_dict(missing, "model.pt"), std::invalid_argument);
  auto extra = state;
  extra.emplace_back("rogue.weight", torch::zeros({1}));
  try {
    model->load_state_dict(extra, "model.pt");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected key 'rogue.weight'"), std::string::npos);
  }
}

TEST(ByteFormerOptions, RejectsInconsistentLists) {
  auto o = ByteFormerOptions::preset("tiny");
  o.window_shifts.pop_back();
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = ByteFormerOptions::preset("tiny");
  o.window_sizes = {32, 32};
  EXPECT_THROW(o.validate(), std::invalid_argument);
  EXPECT_THROW(ByteFormerOptions::preset("gigantic"), std::invalid_argument);
  // Stochastic depth: linspace(0, 0.1, 12) rounded to 3 decimals.
  o = ByteFormerOptions::preset("tiny");
  o.stochastic_dropout = 0.1;
  auto r = o.drop_path_rates();
  EXPECT_DOUBLE_EQ(r[0], 0.0);
  EXPECT_DOUBLE_EQ(r[1], 0.009);
  EXPECT_DOUBLE_EQ(r[11], 0.1);
}

TEST(ByteFormerOptions, ElementCountMatchesTheModelAndAbsurdSizesAreRefused) {
  // The count from the options alone equals the built model's, exactly (the fixture's model
  // and a no-conv variant with another merge pattern).
  auto o = ByteFormerOptions::preset("tiny");
  o.n_classes = 10, o.max_num_tokens = 2048, o.conv_kernel_size = 8, o.window_sizes = {32};
  EXPECT_EQ(static_cast<int64_t>(o.element_count()), ByteFormer(o)->parameter_count());
  EXPECT_EQ(static_cast<int64_t>(o.element_count()), 6522826);  // what `info` prints for the fixture
  o = small_options("tiny", Numerics::kMasked);
  o.conv_kernel_size = 0;
  EXPECT_EQ(static_cast<int64_t>(o.element_count()), ByteFormer(o)->parameter_count());
  // 4 bytes per element against the memory given; the key that makes it large is named.
  o = ByteFormerOptions::preset("tiny");
  const double bytes = o.element_count() * 4;
  EXPECT_NO_THROW(o.check_fits_in_memory(bytes));
  try {
    o.check_fits_in_memory(bytes - 1);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("model.classification.byteformer.embed_dim = 192: the model would hold"),
              std::string::npos) << e.what();
  }
  o.embed_dim = 1000000000, o.num_heads = 2;  // 1.2e19 elements: no int64 overflow on the way
  EXPECT_GT(o.element_count(), 1e19);
  EXPECT_THROW(o.check_fits_in_memory(physical_memory_bytes()), std::invalid_argument);
  try {
    ByteFormer model(o);  // before anything is allocated
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("embed_dim = 1000000000"), std::string::npos) << e.what();
  }
  o = ByteFormerOptions::preset("tiny");
  o.max_num_tokens = 1LL << 40;
  try {
    o.check_fits_in_memory(physical_memory_bytes());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_num_tokens = 1099511627776"), std::string::npos) << e.what();
  }
}

TEST(ByteFormer, TrainingModeRunsWithDropoutAndStochasticDepth) {
  auto o = small_options("tiny", Numerics::kMasked);
  o.dropout = 0.1;
  o.stochastic_dropout = 0.2;
  ByteFormer model(o);
  model->train();
  auto logits = model->forward(pad_batch({random_bytes(300, 1), random_bytes(200, 2)}));
  logits.sum().backward();
  EXPECT_FALSE(logits.isnan().any().item<bool>());
}

}  // namespace
}  // namespace byteformer
