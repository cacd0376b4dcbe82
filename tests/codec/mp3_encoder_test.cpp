// MP3: not byte-exact with CoreNet (sox adds tags), so encode -> decode and compare the sound.
#include "byteformer/codec/mp3_encoder.h"

#include <cmath>

#include <gtest/gtest.h>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/audio_encoding.h"
#include "byteformer/codec/file_format.h"
#include "codec_test_util.h"

namespace byteformer {
namespace {

// Best normalised correlation of b against a over lags 0..max_lag (MP3 adds encoder delay).
double best_correlation(const std::vector<float>& a, const std::vector<float>& b, int max_lag,
                        int* best_lag) {
  double best = -1;
  for (int lag = 0; lag <= max_lag; ++lag) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size() && i + lag < b.size(); ++i) {
      ab += a[i] * b[i + lag];
      aa += a[i] * a[i];
      bb += b[i + lag] * b[i + lag];
    }
    const double c = ab / std::sqrt(aa * bb + 1e-12);
    if (c > best) best = c, *best_lag = lag;
  }
  return best;
}

TEST(Mp3Encoder, RoundTripKeepsLengthAndShape) {
  // 1 s of a chirp-like tone mix at 16 kHz (the fixture clips are only 0.1 s: too short for
  // a codec with ~1,100 samples of delay to say much).
  Audio a;
  a.sample_rate = 16000;
  for (int i = 0; i < 16000; ++i) {
    const double t = i / 16000.0;
    a.samples.push_back(static_cast<float>(0.3 * std::sin(2 * M_PI * 300 * t) +
                                           0.2 * std::sin(2 * M_PI * (500 + 400 * t) * t)));
  }
  const auto mp3 = encode_audio(a, AudioEncoding::parse("mp3"));
  EXPECT_EQ(detect_format(mp3.data(), mp3.size()), FileFormat::kMp3);
  const Audio back = decode_audio(mp3, "roundtrip.mp3");
  EXPECT_EQ(back.sample_rate, 16000);
  EXPECT_EQ(back.channels, 1);
  // Length: exact, since the LAME header records encoder delay and padding and mpg123 (through
  // libsndfile) trims them.
  EXPECT_EQ(back.frames(), 16000u);
  int lag = 0;
  const double corr = best_correlation(a.samples, back.samples, 2000, &lag);
  std::printf("[ mp3      ] %zu bytes, decoded %zu samples (source 16000), correlation %.4f at lag %d\n",
              mp3.size(), back.frames(), corr, lag);
  EXPECT_EQ(lag, 0);
  EXPECT_GT(corr, 0.99);
}

TEST(Mp3Encoder, FixtureClipCorrelates) {
  const Audio a = test::load_fixture_audio("audio1");
  const auto mp3 = encode_mp3(a);
  const Audio back = decode_audio(mp3, "audio1.mp3");
  int lag = 0;
  const double corr = best_correlation(a.samples, back.samples, 2000, &lag);
  std::printf("[ mp3      ] audio1: %zu bytes, %zu -> %zu samples, correlation %.4f at lag %d\n",
              mp3.size(), a.frames(), back.frames(), corr, lag);
  EXPECT_EQ(back.frames(), a.frames());
  EXPECT_GT(corr, 0.99);
}

}  // namespace
}  // namespace byteformer
