// Tests for src/transforms/audio_augment.cpp: CoreNet's SetFixedLength, Noise, Roll and the
// Speech Commands mixup, hand-computed cases (tolerance: float rounding, 1e-6) and determinism.
#include "byteformer/transforms/audio_augment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "byteformer/io/config.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {
namespace {

Audio ramp(int frames, int channels = 1) {
  Audio a;
  a.channels = channels;
  a.samples.resize(static_cast<size_t>(frames) * channels);
  for (size_t i = 0; i < a.samples.size(); ++i) a.samples[i] = 0.001f * static_cast<float>(i);
  return a;
}

TEST(AudioAugment, FixedLengthPadsAndCuts) {
  const Audio a = ramp(5, 2);
  const Audio padded = set_fixed_length(a, 7);
  EXPECT_EQ(padded.frames(), 7u);
  EXPECT_FLOAT_EQ(padded.samples[9], a.samples[9]);
  EXPECT_EQ(padded.samples[10], 0.0f);
  EXPECT_EQ(padded.samples[13], 0.0f);
  const Audio cut = set_fixed_length(a, 3);
  EXPECT_EQ(cut.samples, std::vector<float>(a.samples.begin(), a.samples.begin() + 6));
  EXPECT_EQ(set_fixed_length(Audio{}, 4).samples, std::vector<float>(4, 0.0f));
}

TEST(AudioAugment, NoiseGainCropAndCircularPad) {
  Audio silence;
  silence.samples.assign(4, 0.0f);
  Audio noise;
  noise.samples = {1.0f, 2.0f, 3.0f};  // shorter than the clip: repeated circularly
  torch::Generator gen = make_generator(0);
  // -20 dB is a gain of 0.1.
  const Audio out = add_background_noise(silence, {noise}, {-20.0}, gen);
  ASSERT_EQ(out.samples.size(), 4u);
  EXPECT_NEAR(out.samples[0], 0.1f, 1e-6);
  EXPECT_NEAR(out.samples[2], 0.3f, 1e-6);
  EXPECT_NEAR(out.samples[3], 0.1f, 1e-6);
  // A longer clip is cropped at a random start: the result is a contiguous window.
  Audio long_noise;
  long_noise.samples.resize(50);
  std::iota(long_noise.samples.begin(), long_noise.samples.end(), 0.0f);
  const Audio w = add_background_noise(silence, {long_noise}, {0.0}, gen);
  for (int i = 1; i < 4; ++i) EXPECT_FLOAT_EQ(w.samples[i] - w.samples[i - 1], 1.0f);
  // Errors: no clips, a different sample rate.
  EXPECT_THROW(add_background_noise(silence, {}, {-50.0}, gen), std::invalid_argument);
  noise.sample_rate = 8000;
  EXPECT_THROW(add_background_noise(silence, {noise}, {-50.0}, gen), std::invalid_argument);
}

TEST(AudioAugment, RollIsACircularShiftWithinTheWindow) {
  const Audio a = ramp(100);
  torch::Generator gen = make_generator(4);
  for (int i = 0; i < 30; ++i) {
    const Audio r = random_roll(a, 0.1, gen);
    // Find the shift: where sample 0 went.
    int s = 0;
    while (r.samples[s] != a.samples[0]) ++s;
    for (int t = 0; t < 100; ++t) ASSERT_EQ(r.samples[(t + s) % 100], a.samples[t]);
    const int signed_shift = s >= 50 ? s - 100 : s;
    EXPECT_GE(signed_shift, -10);
    EXPECT_LE(signed_shift, 9);  // torch.randint's upper bound is exclusive
  }
  EXPECT_EQ(random_roll(ramp(5), 0.1, gen).samples, ramp(5).samples);  // int(0.5) = 0: no roll
}

TEST(AudioAugment, Mixup) {
  Audio a, b;
  a.samples = {1.0f, 1.0f};
  b.samples = {0.0f, -1.0f};
  torch::Generator gen = make_generator(2);
  const MixedSample m = mixup(a, 0, b, 2, 3, gen);
  const float lam = m.lambda;
  EXPECT_GE(lam, 0.0f);
  EXPECT_LT(lam, 1.0f);
  EXPECT_NEAR(m.audio.samples[0], lam, 1e-6);
  EXPECT_NEAR(m.audio.samples[1], lam - (1.0f - lam), 1e-6);
  EXPECT_NEAR(m.target[0], lam, 1e-6);
  EXPECT_EQ(m.target[1], 0.0f);
  EXPECT_NEAR(m.target[2], 1.0f - lam, 1e-6);
  EXPECT_THROW(mixup(a, 0, b, 3, 3, gen), std::invalid_argument);

  const torch::Tensor x = torch::randn({4, 10});
  const torch::Tensor y = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  torch::Generator g1 = make_generator(1), g2 = make_generator(1);
  const auto [mx, my] = mixup_batch(x, y, 3, g1);
  EXPECT_EQ(mx.sizes(), x.sizes());
  EXPECT_EQ(my.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(torch::allclose(my.sum(1), torch::ones({4}), 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(mx, mixup_batch(x, y, 3, g2).first));
}

TEST(AudioAugment, PipelineAndOptions) {
  Config c = Config::load_string(
      "audio_augmentation:\n  noise: {enable: true, levels: [-40, -50]}\n  roll: {enable: true, window: 0.2}\n"
      "  set_fixed_length: {length: 20}\ndataset: {speech_commands_v2: {mixup: false}}\n",
      "audio.yaml");
  const AudioAugmentOptions o = AudioAugmentOptions::from_config(c);
  EXPECT_TRUE(o.noise);
  EXPECT_TRUE(o.roll);
  EXPECT_EQ(o.noise_levels, (std::vector<double>{-40.0, -50.0}));
  EXPECT_DOUBLE_EQ(o.roll_window, 0.2);
  EXPECT_EQ(o.length, 20);
  EXPECT_FALSE(o.mixup);
  Audio noise;
  noise.samples.assign(7, 0.5f);
  torch::Generator g1 = make_generator(9), g2 = make_generator(9);
  const Audio a = train_augment(ramp(30), o, {noise}, g1);
  EXPECT_EQ(a.frames(), 20u);
  EXPECT_EQ(a.samples, train_augment(ramp(30), o, {noise}, g2).samples);
  EXPECT_EQ(eval_augment(ramp(30), o).samples, set_fixed_length(ramp(30), 20).samples);
  for (const auto& [bad, needle] : std::vector<std::pair<std::string, std::string>>{
           {"roll.window=2", "roll.window"},
           {"set_fixed_length.length=0", "set_fixed_length.length"},
           {"set_fixed_length.length=100000000000", "set_fixed_length.length"},
           {"noise.levels=[]", "noise.levels"},
           {"roll.enable=perhaps", "perhaps"}}) {
    Config b = c;
    b.apply_override("audio_augmentation." + bad);
    try {
      AudioAugmentOptions::from_config(b);
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << bad << " -> " << e.what();
      EXPECT_NE(std::string(e.what()).find("(in override)"), std::string::npos) << bad << " -> " << e.what();
    }
  }
  // A bad value from the file names the file.
  try {
    AudioAugmentOptions::from_config(Config::load_string("audio_augmentation: {roll: {window: 3}}\n", "audio.yaml"));
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("roll.window' = 3 (in audio.yaml)"), std::string::npos) << e.what();
  }
}

TEST(AudioAugment, DefaultsAreCoreNetsWhenKeysAreAbsent) {
  const AudioAugmentOptions o = AudioAugmentOptions::from_config(Config::load_string("common: {seed: 0}\n"));
  EXPECT_FALSE(o.noise);
  EXPECT_FALSE(o.roll);
  EXPECT_FALSE(o.mixup);
  EXPECT_EQ(o.noise_levels, (std::vector<double>{-100.0}));  // SPEC section 4: CoreNet's [-100]
  EXPECT_EQ(o.length, 16000);
}

}  // namespace
}  // namespace byteformer
