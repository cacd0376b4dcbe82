// End to end: the real `byteformer encode` CLI on the fixture files must write CoreNet's bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "codec/codec_test_util.h"

namespace byteformer {
namespace {

using test::cli_path;
using test::encoders_dir;
using test::read_bytes;
using test::run_command;

class EncodeCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("encode_cli"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  test::CommandResult encode(const std::string& to, const std::string& in, const std::string& out,
                             const std::string& extra = "") {
    return run_command(cli_path() + " encode --to " + to + " " + in + " " + dir_ + "/" + out +
                       " " + extra);
  }
  std::string dir_;
};

TEST_F(EncodeCli, LosslessPngOfFixturePixelsGivesPilBytes) {
  // image0.png holds exactly image0.rgb's pixels, so every encoding must give the fixture.
  for (const char* stem : {"image0", "image1"}) {
    const std::string in = encoders_dir() + stem + ".png";
    const std::pair<const char*, const char*> cases[] = {
        {"tiff", ".tiff"}, {"png", ".png"}, {"jpeg:60", ".q60.jpg"}, {"jpeg:100", ".q100.jpg"},
        {"fchw", ".chw"},  {"fhwc", ".hwc"}};
    for (auto [to, suffix] : cases) {
      const auto r = encode(to, in, std::string("out") + suffix);
      ASSERT_EQ(r.exit_code, 0) << to << ": " << r.err;
      EXPECT_EQ(read_bytes(dir_ + "/out" + suffix), read_bytes(encoders_dir() + stem + suffix))
          << stem << " --to " << to;
    }
  }
}

// A plain IEEE-float WAV holding exactly audioK.f32 (not sox-rounded): every dtype must give the
// fixture bytes, as CoreNet's TorchaudioSave gives them for those samples.
std::vector<uint8_t> plain_float_wav(const std::vector<uint8_t>& f32) {
  std::vector<uint8_t> out;
  auto tag = [&](const char* t) { out.insert(out.end(), t, t + 4); };
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto u16 = [&](uint16_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
  };
  tag("RIFF");
  u32(36 + static_cast<uint32_t>(f32.size()));
  tag("WAVE");
  tag("fmt ");
  u32(16);
  u16(3);  // IEEE float
  u16(1);
  u32(16000);
  u32(64000);
  u16(4);
  u16(32);
  tag("data");
  u32(static_cast<uint32_t>(f32.size()));
  out.insert(out.end(), f32.begin(), f32.end());
  return out;
}

TEST_F(EncodeCli, FloatWavOfFixtureSamplesGivesSoxBytes) {
  for (const char* stem : {"audio0", "audio1"}) {
    const std::string in = dir_ + "/" + stem + ".in.wav";
    test::write_bytes(in, plain_float_wav(read_bytes(encoders_dir() + stem + ".f32")));
    for (const char* dtype : {"float32", "int32", "int16", "uint8"}) {
      const auto r = encode(std::string("wav:") + dtype, in, "out.wav");
      ASSERT_EQ(r.exit_code, 0) << dtype << ": " << r.err;
      EXPECT_EQ(read_bytes(dir_ + "/out.wav"),
                read_bytes(encoders_dir() + stem + "." + dtype + ".wav"))
          << stem << " --to wav:" << dtype;
    }
    // sox's own float32 file re-encodes to itself (its 2^-24 rounding is idempotent).
    const std::string sox = encoders_dir() + stem + ".float32.wav";
    const auto r = encode("wav:float32", sox, "again.wav");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_bytes(dir_ + "/again.wav"), read_bytes(sox)) << stem;
  }
}

TEST_F(EncodeCli, Mp3AndPrivacyRun) {
  const std::string wav = test::fixtures_dir() + "/corenet-tiny-k8-w32/inputs/tone0.wav";
  auto r = encode("mp3", wav, "out.mp3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(read_bytes(dir_ + "/out.mp3").size(), 100u);

  // Reversal is its own check: the output is the TIFF bytes backwards.
  const std::string png = encoders_dir() + "image0.png";
  r = encode("tiff", png, "rev.bin",
             "--privacy shuffle_bytes.enable=true --privacy shuffle_bytes.mode=reverse");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto want = read_bytes(encoders_dir() + "image0.tiff");
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(read_bytes(dir_ + "/rev.bin"), want);
}

TEST_F(EncodeCli, BadInputsFailWithAMessage) {
  const std::string junk = dir_ + "/junk.png";
  test::write_bytes(junk, {'n', 'o', 'p', 'e'});
  auto r = encode("png", junk, "x.png");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("junk.png"), std::string::npos) << r.err;

  const std::string png = encoders_dir() + "image0.png";
  r = encode("gif", png, "x.gif");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("gif"), std::string::npos) << r.err;

  r = encode("wav:int16", png, "x.wav");  // an image given to an audio encoding
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("image0.png"), std::string::npos) << r.err;
  // --privacy: an unknown key, a missing '=', a bad value: each named, nothing written.
  for (const auto& [flag, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--privacy shuffle_bytes.mod=reverse", "unknown option 'shuffle_bytes.mod'"},
           {"--privacy shuffle_bytes.enable", "expected KEY=VALUE"},
           {"--privacy shuffle_bytes.enable=true --privacy shuffle_bytes.mode=sideways", "shuffle_bytes.mode"},
           {"--privacy random_uniform.enable=true --privacy random_uniform.width_range=[5]", "width_range"}}) {
    r = encode("tiff", png, "priv.bin", flag);
    EXPECT_NE(r.exit_code, 0) << flag;
    EXPECT_NE(r.err.find(needle), std::string::npos) << flag << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/priv.bin")) << flag;
  }
}

}  // namespace
}  // namespace byteformer
