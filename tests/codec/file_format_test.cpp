#include "byteformer/codec/file_format.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/image_decoder.h"
#include "codec_test_util.h"

namespace byteformer {
namespace {

FileFormat detect(const std::string& path) {
  const auto b = test::read_bytes(path);
  return detect_format(b.data(), b.size());
}

TEST(FileFormat, DetectsFixtureFiles) {
  const std::string in = test::fixtures_dir() + "/corenet-tiny-k8-w32/inputs/";
  EXPECT_EQ(detect(in + "img0_32px.jpg"), FileFormat::kJpeg);
  EXPECT_EQ(detect(in + "img0_32px.png"), FileFormat::kPng);
  EXPECT_EQ(detect(in + "img0_32px.tiff"), FileFormat::kTiff);
  EXPECT_EQ(detect(in + "tone0.wav"), FileFormat::kWav);
  const auto wav = test::read_bytes(in + "tone0.wav");
  EXPECT_TRUE(looks_like_audio(wav.data(), wav.size()));
  EXPECT_FALSE(looks_like_image(wav.data(), wav.size()));
  EXPECT_EQ(detect_format(nullptr, 0), FileFormat::kUnknown);
  const uint8_t id3[] = {'I', 'D', '3', 4, 0};
  EXPECT_EQ(detect_format(id3, sizeof(id3)), FileFormat::kMp3);
  EXPECT_EQ(format_name(FileFormat::kTiff), "tiff");
}

// Inputs that once crashed or hung a decoder under the fuzzers (fuzz/, scripts/fuzz.sh) must
// now give a CodecError or a clean decode.
TEST(FileFormat, FuzzRegressionCorpusDecodesOrThrows) {
  const std::string dir = test::source_dir() + "/tests/codec/corpus";
  ASSERT_TRUE(std::filesystem::exists(dir)) << dir;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const auto bytes = test::read_bytes(entry.path().string());
    const std::string name = entry.path().filename().string();
    try {
      if (looks_like_audio(bytes.data(), bytes.size())) {
        decode_audio(bytes, name, 16000);
      } else {
        decode_image(bytes, name);
      }
    } catch (const CodecError&) {
    }
  }
  std::printf("[ corpus   ] %d regression files\n", files);
  EXPECT_GT(files, 0);  // seeded with truncated fixtures; fuzz crashers join them
}

}  // namespace
}  // namespace byteformer
