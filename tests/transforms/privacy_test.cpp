// Tests for src/transforms/privacy.cpp: exact matches against PyTorch's randperm output in
// fixtures/transforms.json (made with CoreNet's code, PyTorch 1.13), plus hand-computed cases.
#include "byteformer/transforms/privacy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <numeric>
#include <set>

#include "byteformer/io/config.h"
#include "test_util.h"

namespace byteformer {
namespace {

nlohmann::json load_fixture() {
  return nlohmann::json::parse(test::read_text(test::fixtures_dir() + "/transforms.json"));
}

ByteSeq iota_seq(int64_t n) {
  ByteSeq x(static_cast<size_t>(n));
  std::iota(x.begin(), x.end(), 0);
  return x;
}

TEST(Privacy, BytePermutationMatchesPyTorchExactly) {
  const auto fixture = load_fixture();
  const std::vector<int64_t> expected = fixture["byte_permutation"]["value"];
  const auto table = byte_permutation_table();
  ASSERT_EQ(expected.size(), 256u);
  EXPECT_EQ(std::vector<int64_t>(table.begin(), table.end()), expected);

  const ByteSeq out = permute_byte_values({0, 1, 255, 0}, table);
  EXPECT_EQ(out, (ByteSeq{expected[0], expected[1], expected[255], expected[0]}));
}

TEST(Privacy, MaskPositionsMatchesPyTorchExactly) {
  const auto fixture = load_fixture();
  ASSERT_FALSE(fixture["mask_positions"].empty());
  for (const auto& c : fixture["mask_positions"]) {
    const int64_t length = c["length"];
    const double keep_frac = c["keep_frac"];
    const std::vector<int64_t> kept = mask_positions_kept(length, keep_frac);
    SCOPED_TRACE("length=" + std::to_string(length) + " keep_frac=" + std::to_string(keep_frac));
    EXPECT_EQ(static_cast<int64_t>(kept.size()), c["num_kept"].get<int64_t>());
    // The full list is stored for the short cases, only the head for the long one.
    if (!c["kept_positions_sorted"].is_null()) {
      EXPECT_EQ(kept, c["kept_positions_sorted"].get<std::vector<int64_t>>());
    }
    const std::vector<int64_t> head = c["first_20_kept"];
    ASSERT_GE(kept.size(), head.size());
    EXPECT_EQ(std::vector<int64_t>(kept.begin(), kept.begin() + head.size()), head);
    EXPECT_EQ(std::accumulate(kept.begin(), kept.end(), int64_t{0}), c["sum_kept"].get<int64_t>());
    // Applied to iota, the kept values are the kept positions, in order.
    EXPECT_EQ(mask_positions(iota_seq(length), keep_frac), kept);
  }
}

TEST(Privacy, MaskPositionsEdgeCases) {
  EXPECT_TRUE(mask_positions(iota_seq(10), 0.0).empty());
  EXPECT_EQ(mask_positions(iota_seq(10), 1.0), iota_seq(10));
  EXPECT_TRUE(mask_positions({}, 0.5).empty());
  // floor(0.25 * 10) = 2 positions, ascending.
  const auto kept = mask_positions_kept(10, 0.25);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_LT(kept[0], kept[1]);
  EXPECT_THROW(mask_positions_kept(10, 1.5), std::invalid_argument);
  EXPECT_THROW(mask_positions_kept(10, -0.1), std::invalid_argument);
}

TEST(Privacy, ReverseAndCyclicHalfLength) {
  EXPECT_EQ(reverse_bytes({1, 2, 3}), (ByteSeq{3, 2, 1}));
  EXPECT_TRUE(reverse_bytes({}).empty());
  // torch.roll([0,1,2,3,4], 2) = [3,4,0,1,2]; odd length rolls by floor(L/2).
  EXPECT_EQ(cyclic_half_length({0, 1, 2, 3, 4}), (ByteSeq{3, 4, 0, 1, 2}));
  EXPECT_EQ(cyclic_half_length({0, 1, 2, 3}), (ByteSeq{2, 3, 0, 1}));
  EXPECT_EQ(cyclic_half_length({7}), (ByteSeq{7}));
  EXPECT_TRUE(cyclic_half_length({}).empty());
}

TEST(Privacy, Stride) {
  EXPECT_EQ(stride_bytes(iota_seq(7), 3), (ByteSeq{0, 3, 6, 1, 4, 2, 5}));
  EXPECT_EQ(stride_bytes(iota_seq(5), 1), iota_seq(5));
  // L smaller than the stride: unchanged.
  EXPECT_EQ(stride_bytes(iota_seq(5), 1024), iota_seq(5));
  EXPECT_TRUE(stride_bytes({}, 4).empty());
  EXPECT_THROW(stride_bytes(iota_seq(5), 0), std::invalid_argument);
}

TEST(Privacy, WindowShuffle) {
  const std::vector<int64_t> perm = {2, 0, 1};
  // Two full windows shuffled, tail [6] unchanged.
  EXPECT_EQ(window_shuffle_bytes(iota_seq(7), perm), (ByteSeq{2, 0, 1, 5, 3, 4, 6}));
  // L smaller than the window: unchanged.
  EXPECT_EQ(window_shuffle_bytes(iota_seq(2), perm), iota_seq(2));
  // The key is a permutation and depends only on the seed.
  auto key = make_window_permutation(1024, 7);
  EXPECT_EQ(key, make_window_permutation(1024, 7));
  EXPECT_NE(key, make_window_permutation(1024, 8));
  std::sort(key.begin(), key.end());
  EXPECT_EQ(key, iota_seq(1024));
}

TEST(Privacy, RandomShuffleIsAPermutationAndSeeded) {
  torch::Generator g1 = make_generator(3);
  torch::Generator g2 = make_generator(3);
  const ByteSeq a = random_shuffle_bytes(iota_seq(100), g1);
  EXPECT_EQ(a, random_shuffle_bytes(iota_seq(100), g2));
  // A new order for every sample.
  EXPECT_NE(a, random_shuffle_bytes(iota_seq(100), g1));
  ByteSeq sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota_seq(100));
  EXPECT_NE(a, iota_seq(100));
}

TEST(Privacy, RandomUniformNoise) {
  torch::Generator g = make_generator(0);
  const ByteSeq x(2000, 254);
  const ByteSeq y = random_uniform_noise(x, -5, 5, g);
  ASSERT_EQ(y.size(), x.size());
  std::set<int64_t> seen(y.begin(), y.end());
  // 254 + [-5, 5] mod 256 = {249..255, 0, 1, 2, 3}: all eleven values appear, wrapped.
  EXPECT_EQ(seen, (std::set<int64_t>{249, 250, 251, 252, 253, 254, 255, 0, 1, 2, 3}));
  // Zero width is the identity; negative wraps to the top.
  EXPECT_EQ(random_uniform_noise({0, 5, 255}, 0, 0, g), (ByteSeq{0, 5, 255}));
  EXPECT_EQ(random_uniform_noise({0, 1}, -1, -1, g), (ByteSeq{255, 0}));
  EXPECT_THROW(random_uniform_noise(x, 3, 2, g), std::invalid_argument);
  torch::Generator h1 = make_generator(9), h2 = make_generator(9);
  EXPECT_EQ(random_uniform_noise(x, -20, 20, h1), random_uniform_noise(x, -20, 20, h2));
}

TEST(Privacy, BytePermutationRejectsPadding) {
  EXPECT_THROW(permute_byte_values({1, -1}, byte_permutation_table()), std::invalid_argument);
}

// A config as the CLI builds it: the YAML text, then key=value overrides.
Config privacy_config(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  Config c = Config::load_string(yaml, "privacy.yaml");
  for (const auto& o : overrides) c.apply_override(o);
  return c;
}

TEST(Privacy, OptionsParseCoreNetKeys) {
  const PrivacyOptions o = PrivacyOptions::from_config(privacy_config(
      "image_augmentation:\n"
      "  shuffle_bytes: {enable: true, mode: stride}\n"
      "  mask_positions: {enable: True, keep_frac: 0.25}\n"
      "  random_uniform: {enable: true, width_range: [-10, 10]}\n"
      "  byte_permutation: {enable: false}\n",
      {"--image-augmentation.shuffle-bytes.stride=16"}));
  EXPECT_TRUE(o.shuffle_bytes);
  EXPECT_EQ(o.shuffle_mode, ShuffleMode::kStride);
  EXPECT_EQ(o.stride, 16);
  EXPECT_TRUE(o.mask_positions);
  EXPECT_DOUBLE_EQ(o.keep_frac, 0.25);
  EXPECT_TRUE(o.random_uniform);
  EXPECT_EQ(o.width_lo, -10);
  EXPECT_EQ(o.width_hi, 10);
  EXPECT_FALSE(o.byte_permutation);
  EXPECT_EQ(parse_shuffle_mode(to_string(ShuffleMode::kWindowShuffle)),
            ShuffleMode::kWindowShuffle);
}

TEST(Privacy, BadOptionsNameKeyAndValue) {
  auto message_of = [](const std::vector<std::string>& items) -> std::string {
    std::vector<std::string> overrides;
    for (const auto& i : items) overrides.push_back("image_augmentation." + i);
    try {
      PrivacyOptions::from_config(privacy_config("common: {seed: 0}\n", overrides));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  std::string m = message_of({"shuffle_bytes.mode=sideways"});
  EXPECT_NE(m.find("shuffle_bytes.mode"), std::string::npos) << m;
  EXPECT_NE(m.find("sideways"), std::string::npos) << m;
  m = message_of({"mask_positions.keep_frac=2"});
  EXPECT_NE(m.find("keep_frac"), std::string::npos) << m;
  m = message_of({"random_uniform.width_range=[5]"});
  EXPECT_NE(m.find("width_range"), std::string::npos) << m;
  m = message_of({"random_uniform.width_range=[5,-5]"});
  EXPECT_NE(m.find("width_range"), std::string::npos) << m;
  m = message_of({"shuffle_bytes.enable=maybe"});
  EXPECT_NE(m.find("maybe"), std::string::npos) << m;
  m = message_of({"shuffle_bytes.window_size=0"});
  EXPECT_NE(m.find("window_size"), std::string::npos) << m;
  EXPECT_NE(m.find("window_size' = 0 (in override)"), std::string::npos) << m;  // validate()'s errors too
  m = message_of({"shuffle_bytes.sideways=1"});  // a key no transform reads is not dropped silently
  EXPECT_NE(m.find("shuffle_bytes.sideways"), std::string::npos) << m;
  EXPECT_NE(m.find("shuffle_bytes.mode"), std::string::npos) << m;  // lists the known keys
}

TEST(Privacy, PipelineOrderAndDeterminism) {
  PrivacyOptions o;
  o.shuffle_bytes = true;
  o.shuffle_mode = ShuffleMode::kReverse;
  o.mask_positions = true;
  o.keep_frac = 0.5;
  o.byte_permutation = true;
  const ByteSeq x = iota_seq(200);
  torch::Generator g = make_generator(0);
  const ByteSeq out = apply_privacy(x, o, g);
  // Hand-composed: reverse, keep the fixed positions of a length-200 input, permute values.
  ByteSeq expected = mask_positions(reverse_bytes(x), 0.5);
  expected = permute_byte_values(expected, byte_permutation_table());
  EXPECT_EQ(out, expected);

  o.random_uniform = true;
  PrivacyTransform t(o);
  torch::Generator g1 = make_generator(5), g2 = make_generator(5);
  EXPECT_EQ(t(x, g1), t(x, g2));
  // Tensor form agrees with the vector form.
  torch::Generator g3 = make_generator(5);
  const torch::Tensor tt = t(to_tensor(x), g3);
  EXPECT_EQ(tt.dim(), 1);
  torch::Generator g5 = make_generator(5);
  EXPECT_EQ(to_byte_seq(tt), t(x, g5));
  // Nothing enabled: identity, even for empty input.
  torch::Generator g4 = make_generator(0);
  EXPECT_EQ(apply_privacy(x, PrivacyOptions{}, g4), x);
  EXPECT_TRUE(apply_privacy(ByteSeq{}, o, g4).empty());
}

TEST(Privacy, OptionsOfADisabledTransformAreReported) {
  const auto w = disabled_transform_warnings(privacy_config(
      "common: {seed: 0}\n",
      {"image_augmentation.shuffle_bytes.mode=reverse", "image_augmentation.mask_positions.keep_frac=0.3",
       "image_augmentation.random_uniform.enable=true", "image_augmentation.random_uniform.width_range=[-2, 2]",
       "image_augmentation.shuffle_bytes.stride=4"}));
  ASSERT_EQ(w.size(), 2u);  // one per transform; random_uniform is enabled
  EXPECT_EQ(w[0], "shuffle_bytes.mode is set but shuffle_bytes is not enabled, so it is not applied; add "
                  "shuffle_bytes.enable=true");
  EXPECT_NE(w[1].find("mask_positions.keep_frac is set but mask_positions is not enabled"), std::string::npos) << w[1];
  // An explicit enable=false is the user's choice: no warning.
  EXPECT_TRUE(disabled_transform_warnings(
                  privacy_config("image_augmentation: {shuffle_bytes: {enable: false, mode: reverse}}\n"))
                  .empty());
}

}  // namespace
}  // namespace byteformer
