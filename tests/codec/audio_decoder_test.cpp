// Audio decoding through libsndfile, mono mixdown, resampling, and bad files.
#include "byteformer/codec/audio_decoder.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/wav_encoder.h"
#include "codec_test_util.h"

namespace byteformer {
namespace {

using test::read_bytes;

TEST(AudioDecoder, DecodesFixtureInputWav) {
  const std::string path = test::fixtures_dir() + "/corenet-tiny-k8-w32/inputs/tone0.wav";
  const Audio a = decode_audio(read_bytes(path), path);
  EXPECT_EQ(a.sample_rate, 16000);
  EXPECT_EQ(a.channels, 1);
  EXPECT_EQ(a.frames(), 1600u);  // (3244 - 44) / 2
  float peak = 0;
  for (float s : a.samples) peak = std::max(peak, std::abs(s));
  EXPECT_GT(peak, 0.1f);
  EXPECT_LE(peak, 1.0f);
}

TEST(AudioDecoder, DecodesEveryFixtureDtypeToTheSamples) {
  // Tolerance: two steps of the stored type (CoreNet truncates x * (2^(n-1) - 1), libsndfile
  // reads v / 2^(n-1)); float32 went through sox's 2^-24 rounding.
  const Audio want = test::load_fixture_audio("audio0");
  for (auto [dtype, tol] : {std::pair{"float32", 6e-8}, {"int32", 1e-6}, {"int16", 2.0 / 32767},
                            {"uint8", 2.0 / 127.5}}) {
    const std::string path = test::encoders_dir() + "audio0." + dtype + ".wav";
    const Audio a = decode_audio(read_bytes(path), path);
    ASSERT_EQ(a.samples.size(), want.samples.size()) << dtype;
    for (size_t i = 0; i < a.samples.size(); ++i) {
      ASSERT_NEAR(a.samples[i], want.samples[i], tol + 1e-7) << dtype << " sample " << i;
    }
  }
}

TEST(AudioDecoder, MonoIsTheMeanOfChannels) {
  Audio stereo;
  stereo.channels = 2;
  stereo.samples = {1.0f, 0.0f, -0.5f, 0.5f, 0.25f, 0.75f};
  const Audio m = to_mono(stereo);
  EXPECT_EQ(m.channels, 1);
  EXPECT_EQ(m.samples, (std::vector<float>{0.5f, 0.0f, 0.5f}));
  // Multi-channel WAV decodes interleaved.
  const Audio back = decode_audio(encode_wav(stereo, WavSampleType::kFloat32), "stereo");
  EXPECT_EQ(back.channels, 2);
  EXPECT_EQ(back.samples, stereo.samples);
}

TEST(AudioDecoder, ResamplesToTargetRate) {
  // A 440 Hz sine at 48 kHz -> 16 kHz keeps its length ratio and its frequency.
  Audio a;
  a.sample_rate = 48000;
  for (int i = 0; i < 48000; ++i) a.samples.push_back(0.5f * std::sin(2 * M_PI * 440 * i / 48000.0));
  const Audio r = decode_audio(encode_wav(a, WavSampleType::kFloat32), "sine", 16000);
  EXPECT_EQ(r.sample_rate, 16000);
  EXPECT_NEAR(static_cast<double>(r.frames()), 16000.0, 2.0);
  double err = 0;  // compare away from the edges; tolerance 1e-2 RMS
  int n = 0;
  for (size_t i = 200; i + 200 < r.frames(); ++i, ++n) {
    const double want = 0.5 * std::sin(2 * M_PI * 440 * i / 16000.0);
    err += (r.samples[i] - want) * (r.samples[i] - want);
  }
  EXPECT_LT(std::sqrt(err / n), 1e-2);
}

TEST(AudioDecoder, BadFilesThrowCodecError) {
  EXPECT_THROW(decode_audio(std::vector<uint8_t>{}, "empty"), CodecError);
  const std::string text = "not a sound";
  EXPECT_THROW(decode_audio(std::vector<uint8_t>(text.begin(), text.end()), "text"), CodecError);
  const auto good = read_bytes(test::encoders_dir() + "audio0.int16.wav");
  for (size_t keep : {size_t{4}, size_t{12}, size_t{20}, size_t{36}, size_t{44}}) {
    try {
      decode_audio(std::vector<uint8_t>(good.begin(), good.begin() + keep), "short-wav");
      ADD_FAILURE() << "decoded a " << keep << "-byte WAV";
    } catch (const CodecError& e) {
      EXPECT_NE(std::string(e.what()).find("short-wav"), std::string::npos) << e.what();
    }
  }
  std::mt19937 rng(5);
  for (int i = 0; i < 300; ++i) {
    auto bytes = good;
    bytes.resize(rng() % bytes.size());
    for (int k = 0; k < 3 && !bytes.empty(); ++k) bytes[rng() % bytes.size()] = rng();
    try {
      decode_audio(bytes, "mutated");
    } catch (const CodecError&) {
    }
  }
}

TEST(AudioDecoder, WavTruncationIsDescribed) {
  const auto good = read_bytes(test::encoders_dir() + "audio0.int16.wav");
  EXPECT_EQ(wav_truncation(good.data(), good.size()), "");
  // Cut inside the samples: libsndfile decodes what is left without an error...
  std::vector<uint8_t> cut(good.begin(), good.begin() + 1000);
  EXPECT_NO_THROW(decode_audio(cut, "cut.wav"));
  // ...so the data chunk's size against the bytes held is what tells.
  const std::string why = wav_truncation(cut.data(), cut.size());
  EXPECT_NE(why.find("WAV data chunk declares " + std::to_string(good.size() - 44) + " bytes, the file holds 956"),
            std::string::npos)
      << why;  // a 44-byte header: 1000 - 44 = 956 bytes of samples remain
  // A streamed WAV (size 0xFFFFFFFF) and other formats are not truncated.
  auto streamed = cut;
  for (int i = 40; i < 44; ++i) streamed[i] = 0xFF;
  EXPECT_EQ(wav_truncation(streamed.data(), streamed.size()), "");
  const std::string text = "not a sound at all";
  EXPECT_EQ(wav_truncation(reinterpret_cast<const uint8_t*>(text.data()), text.size()), "");
  EXPECT_NE(wav_truncation(good.data(), 30).find("ends before its data chunk"), std::string::npos);
}

}  // namespace
}  // namespace byteformer
