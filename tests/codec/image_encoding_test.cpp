// Encoders against PIL 9.4's exact bytes (fixtures/encoders, made with CoreNet's pil_save
// settings). Tolerance: none, byte for byte.
#include "byteformer/codec/image_encoding.h"

#include <gtest/gtest.h>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/image_decoder.h"
#include "byteformer/codec/png_encoder.h"
#include "codec_test_util.h"

namespace byteformer {
namespace {

using test::encoders_dir;
using test::image_fixtures;
using test::load_fixture_image;
using test::read_bytes;

void expect_same_bytes(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want,
                       const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what << ": sizes differ";
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << what << ": first difference at byte " << i;
  }
}

struct Case {
  const char* encoding;
  const char* suffix;
};

TEST(ImageEncoding, MatchesPilFixturesByteForByte) {
  const Case cases[] = {{"TIFF", ".tiff"},     {"PNG", ".png"},   {"jpeg:60", ".q60.jpg"},
                        {"JPEG", ".q100.jpg"}, {"fCHW", ".chw"}, {"fHWC", ".hwc"}};
  for (const auto& f : image_fixtures()) {
    const Image img = load_fixture_image(f);
    ASSERT_EQ(img.pixels.size(), img.size_bytes());
    for (const Case& c : cases) {
      const auto want = read_bytes(encoders_dir() + f.stem + c.suffix);
      expect_same_bytes(encode_image(img, ImageEncoding::parse(c.encoding)), want,
                        f.stem + " " + c.encoding);
    }
  }
}

TEST(ImageEncoding, LosslessRoundTrips) {
  for (int channels : {1, 3}) {
    for (auto [w, h] : {std::pair{1, 1}, {32, 32}, {45, 29}, {224, 224}, {500, 300}}) {
      const Image img = test::synthetic_image(w, h, channels);
      for (const char* enc : {"tiff", "png"}) {
        const auto bytes = encode_image(img, ImageEncoding::parse(enc));
        EXPECT_EQ(decode_image(bytes, enc), img) << enc << " " << w << "x" << h << "x" << channels;
      }
    }
  }
}

TEST(ImageEncoding, LargePngSplitsIdatLikePil) {
  // 224x224 RGB: 150,752 filtered bytes -> IDAT chunks of 65,536, 65,536 and the rest.
  const Image img = test::synthetic_image(224, 224, 3);
  const auto png = encode_png(img);
  std::vector<uint32_t> idat_sizes;
  size_t pos = 8;
  while (pos + 8 <= png.size()) {
    const uint32_t len = (png[pos] << 24) | (png[pos + 1] << 16) | (png[pos + 2] << 8) | png[pos + 3];
    if (std::string(png.begin() + pos + 4, png.begin() + pos + 8) == "IDAT") idat_sizes.push_back(len);
    pos += 12 + len;
  }
  ASSERT_EQ(pos, png.size());
  ASSERT_EQ(idat_sizes.size(), 3u);
  EXPECT_EQ(idat_sizes[0], 65536u);
  EXPECT_EQ(idat_sizes[1], 65536u);
}

TEST(ImageEncoding, JpegIsCloseToSource) {
  const Image img = load_fixture_image(image_fixtures()[1]);
  const Image back = decode_image(encode_image(img, ImageEncoding::parse("jpeg:100")), "q100");
  ASSERT_EQ(back.width, img.width);
  ASSERT_EQ(back.channels, 3);
  double err = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) err += std::abs(img.pixels[i] - back.pixels[i]);
  EXPECT_LT(err / img.pixels.size(), 8.0);  // mean absolute error in levels, 4:2:0 at q100
}

TEST(ImageEncoding, ParsesOurAndCoreNetNames) {
  EXPECT_EQ(ImageEncoding::parse("TIFF").kind, ImageEncoding::Kind::kTiff);
  EXPECT_EQ(ImageEncoding::parse("png").kind, ImageEncoding::Kind::kPng);
  EXPECT_EQ(ImageEncoding::parse("JPEG").quality, 100);
  EXPECT_EQ(ImageEncoding::parse("JPEG", 60).quality, 60);
  EXPECT_EQ(ImageEncoding::parse("jpeg:60").quality, 60);
  EXPECT_EQ(ImageEncoding::parse("fCHW").kind, ImageEncoding::Kind::kCHW);
  EXPECT_EQ(ImageEncoding::parse("fhwc").kind, ImageEncoding::Kind::kHWC);
  EXPECT_EQ(ImageEncoding::parse("jpeg:7").to_string(), "jpeg:7");
  for (const char* bad : {"", "gif", "jpeg:", "jpeg:0", "jpeg:101", "jpeg:abc", "png:3"}) {
    EXPECT_THROW(ImageEncoding::parse(bad), std::invalid_argument) << bad;
  }
}

TEST(ImageEncoding, FloatPixelsConvertLikeCoreNet) {
  // (x * 255).byte(): truncation, so 0.999 -> 254 and 1/255 in float32 -> 0 or 1 as the
  // float32 product falls.
  const float chw[6] = {0.0f, 0.999f, 1.0f, 0.5f, 0.25f, 1.0f / 255.0f};  // (C=3, H=1, W=2)
  const Image img = image_from_chw_floats(chw, 3, 1, 2);
  ASSERT_EQ(img.pixels.size(), 6u);
  EXPECT_EQ(img.pixels[0], 0);    // (c0, x0)
  EXPECT_EQ(img.pixels[3], 254);  // (c0, x1)
  EXPECT_EQ(img.pixels[1], 255);  // (c1, x0)
  EXPECT_EQ(img.pixels[4], 127);  // 0.5 * 255 = 127.5 -> 127
  EXPECT_EQ(img.pixels[2], 63);   // 63.75 -> 63
  EXPECT_EQ(img.pixels[5], static_cast<uint8_t>((1.0f / 255.0f) * 255.0f));
}

TEST(ImageEncoding, RejectsBadImages) {
  Image bad;
  bad.width = 4;
  bad.height = 4;
  bad.channels = 3;
  bad.pixels.resize(10);
  for (const char* enc : {"tiff", "png", "jpeg:90", "fchw"}) {
    EXPECT_THROW(encode_image(bad, ImageEncoding::parse(enc)), CodecError) << enc;
  }
}

}  // namespace
}  // namespace byteformer
