// WAV writer against torchaudio 0.13's sox-writer bytes (fixtures/encoders/audio*.wav, cast
// as CoreNet's TorchaudioSave casts). Tolerance: none, byte for byte.
#include "byteformer/codec/wav_encoder.h"

#include <cmath>

#include <gtest/gtest.h>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/audio_encoding.h"
#include "codec_test_util.h"

namespace byteformer {
namespace {

using test::encoders_dir;
using test::read_bytes;

TEST(WavEncoder, MatchesSoxFixturesByteForByte) {
  for (const char* stem : {"audio0", "audio1"}) {
    const Audio audio = test::load_fixture_audio(stem);
    ASSERT_GT(audio.samples.size(), 1000u);
    for (const char* dtype : {"float32", "int32", "int16", "uint8"}) {
      const auto want = read_bytes(encoders_dir() + stem + "." + dtype + ".wav");
      const auto got = encode_audio(audio, AudioEncoding::parse(std::string("wav:") + dtype));
      ASSERT_EQ(got.size(), want.size()) << stem << " " << dtype;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i], want[i]) << stem << " " << dtype << ": first difference at byte " << i;
      }
    }
  }
}

TEST(WavEncoder, RoundTripsThroughLibsndfile) {
  const Audio audio = test::load_fixture_audio("audio1");
  const Audio f32 = decode_audio(encode_wav(audio, WavSampleType::kFloat32), "f32");
  EXPECT_EQ(f32.sample_rate, 16000);
  ASSERT_EQ(f32.samples.size(), audio.samples.size());
  for (size_t i = 0; i < audio.samples.size(); ++i) {
    // sox stores float32 through 32-bit integers, rounded to a multiple of 2^-24.
    ASSERT_NEAR(f32.samples[i], audio.samples[i], std::ldexp(1.0, -24)) << "sample " << i;
  }
  // And writing what we read back is exact: the sox rounding is idempotent.
  EXPECT_EQ(encode_wav(f32, WavSampleType::kFloat32), encode_wav(audio, WavSampleType::kFloat32));
  // We write v = trunc(x * (2^(n-1) - 1)) (uint8: trunc((x + 1) * 127.5)); libsndfile reads
  // v / 2^(n-1) (uint8: (v - 128) / 128). Undo libsndfile's scale, then the error is below one
  // step of the stored type: int16 within 1/32767, int32 within 1e-7, uint8 within 1/127.5.
  struct Tol {
    WavSampleType type;
    double read_scale, write_scale, tol;
  };
  for (Tol t : {Tol{WavSampleType::kInt32, 2147483648.0, 2147483648.0, 1e-7},
                Tol{WavSampleType::kInt16, 32768.0, 32767.0, 1.0 / 32767},
                Tol{WavSampleType::kUInt8, 128.0, 127.5, 1.0 / 127.5}}) {
    const Audio back = decode_audio(encode_wav(audio, t.type), "pcm");
    ASSERT_EQ(back.samples.size(), audio.samples.size());
    for (size_t i = 0; i < audio.samples.size(); ++i) {
      double v = back.samples[i] * t.read_scale;  // the stored integer
      if (t.type == WavSampleType::kUInt8) v += 128.0;
      const double x = t.type == WavSampleType::kUInt8 ? v / t.write_scale - 1.0 : v / t.write_scale;
      ASSERT_NEAR(x, audio.samples[i], t.tol + 1e-7) << "sample " << i;
    }
  }
}

TEST(WavEncoder, FullScaleInt32WrapsLikeTorch) {
  // float32(2^31 - 1) == 2^31, so x = 1.0 overflows int32; PyTorch's CPU cast gives INT32_MIN.
  Audio a;
  a.samples = {1.0f, -1.0f, 0.0f};
  const auto wav = encode_wav(a, WavSampleType::kInt32);
  const size_t data = wav.size() - 12;
  EXPECT_EQ(wav[data + 3], 0x80);
  EXPECT_EQ(wav[data + 0], 0x00);
  EXPECT_EQ(wav[data + 7], 0x80);  // -2^31 exactly
}

TEST(AudioEncoding, MixesDownToMonoFirst) {
  Audio stereo;
  stereo.channels = 2;
  stereo.samples = {0.5f, -0.5f, 0.25f, 0.75f};
  Audio mono;
  mono.samples = {0.0f, 0.5f};
  EXPECT_EQ(encode_audio(stereo, AudioEncoding::parse("wav")),
            encode_wav(mono, WavSampleType::kFloat32));
}

TEST(AudioEncoding, ParsesNames) {
  EXPECT_EQ(AudioEncoding::parse("mp3").kind, AudioEncoding::Kind::kMp3);
  EXPECT_EQ(AudioEncoding::parse("wav:int16").wav_type, WavSampleType::kInt16);
  EXPECT_EQ(AudioEncoding::parse("WAV:UINT8").to_string(), "wav:uint8");
  EXPECT_THROW(AudioEncoding::parse("wav:int8"), std::invalid_argument);
  EXPECT_THROW(AudioEncoding::parse("flac"), std::invalid_argument);
}

}  // namespace
}  // namespace byteformer
