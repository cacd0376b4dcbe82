// Decoders: the CoreNet fixture inputs, every supported layout, and bad files (which must give
// a CodecError, never a crash).
#include "byteformer/codec/image_decoder.h"

#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <zlib.h>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/image_encoding.h"
#include "codec_test_util.h"

namespace byteformer {
namespace {

using test::encoders_dir;
using test::read_bytes;

std::string inputs_dir() { return test::fixtures_dir() + "/corenet-tiny-k8-w32/inputs/"; }

TEST(ImageDecoder, DecodesCoreNetFixtureInputs) {
  for (auto [stem, side] : {std::pair{"img0_32px", 32}, {"img1_40px", 40}, {"img2_48px", 48}}) {
    const Image tiff = decode_image(read_bytes(inputs_dir() + stem + ".tiff"), stem);
    const Image png = decode_image(read_bytes(inputs_dir() + stem + ".png"), stem);
    const Image jpg = decode_image(read_bytes(inputs_dir() + stem + ".jpg"), stem);
    EXPECT_EQ(tiff.width, side);
    EXPECT_EQ(tiff.height, side);
    EXPECT_EQ(tiff.channels, 3);
    EXPECT_EQ(tiff, png) << stem << ": lossless TIFF and PNG must hold the same pixels";
    ASSERT_EQ(jpg.pixels.size(), png.pixels.size());
    double err = 0;
    for (size_t i = 0; i < png.pixels.size(); ++i) err += std::abs(png.pixels[i] - jpg.pixels[i]);
    EXPECT_LT(err / png.pixels.size(), 20.0) << stem << ": q60 JPEG mean abs error in levels";
  }
}

TEST(ImageDecoder, DecodesEncoderFixturesToTheirPixels) {
  for (const auto& f : test::image_fixtures()) {
    const Image want = test::load_fixture_image(f);
    EXPECT_EQ(decode_image(read_bytes(encoders_dir() + f.stem + ".tiff"), "tiff"), want);
    EXPECT_EQ(decode_image(read_bytes(encoders_dir() + f.stem + ".png"), "png"), want);
  }
}

std::vector<uint8_t> make_bmp(const Image& rgb, int bits, bool top_down) {
  // 24-bit BGR or 32-bit BGRX, BITMAPINFOHEADER.
  const int bpp = bits / 8;
  const size_t row = ((rgb.width * bits + 31) / 32) * 4;
  std::vector<uint8_t> out(54 + row * rgb.height, 0);
  auto u32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  out[0] = 'B', out[1] = 'M';
  u32(2, static_cast<uint32_t>(out.size()));
  u32(10, 54);
  u32(14, 40);
  u32(18, rgb.width);
  u32(22, top_down ? static_cast<uint32_t>(-rgb.height) : rgb.height);
  out[26] = 1;
  out[28] = static_cast<uint8_t>(bits);
  for (int y = 0; y < rgb.height; ++y) {
    uint8_t* dst = out.data() + 54 + row * (top_down ? y : rgb.height - 1 - y);
    for (int x = 0; x < rgb.width; ++x) {
      const uint8_t* p = rgb.pixels.data() + (y * rgb.width + x) * 3;
      dst[x * bpp] = p[2], dst[x * bpp + 1] = p[1], dst[x * bpp + 2] = p[0];
    }
  }
  return out;
}

TEST(ImageDecoder, DecodesBmp) {
  const Image img = test::synthetic_image(13, 7, 3);
  for (int bits : {24, 32}) {
    for (bool top_down : {false, true}) {
      EXPECT_EQ(decode_image(make_bmp(img, bits, top_down), "x.bmp"), img)
          << bits << " bits, top_down " << top_down;
    }
  }
}

TEST(ImageDecoder, DecodesPgmAndPpm) {
  const Image rgb = test::synthetic_image(5, 3, 3);
  std::string header = "P6\n# comment\n5 3\n255\n";
  std::vector<uint8_t> ppm(header.begin(), header.end());
  ppm.insert(ppm.end(), rgb.pixels.begin(), rgb.pixels.end());
  EXPECT_EQ(decode_image(ppm, "x.ppm"), rgb);

  const Image grey = test::synthetic_image(4, 2, 1);
  header = "P5 4 2 255\n";
  std::vector<uint8_t> pgm(header.begin(), header.end());
  pgm.insert(pgm.end(), grey.pixels.begin(), grey.pixels.end());
  EXPECT_EQ(decode_image(pgm, "x.pgm"), grey);

  const std::string ascii = "P2\n2 1\n65535\n0 65535\n";
  const Image a = decode_image(std::vector<uint8_t>(ascii.begin(), ascii.end()), "a.pgm");
  EXPECT_EQ(a.pixels, (std::vector<uint8_t>{0, 255}));
}

TEST(ImageDecoder, GreyStaysOneChannelAndToRgbRepeats) {
  const Image grey = test::synthetic_image(9, 4, 1);
  for (const char* enc : {"png", "tiff", "jpeg:95"}) {
    const Image back = decode_image(encode_image(grey, ImageEncoding::parse(enc)), enc);
    EXPECT_EQ(back.channels, 1) << enc;
  }
  const Image rgb = to_rgb(grey);
  ASSERT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels[3 * 5 + 2], grey.pixels[5]);
}

void expect_codec_error(const std::vector<uint8_t>& bytes, const std::string& what) {
  try {
    decode_image(bytes, what);
    ADD_FAILURE() << what << ": decoded without error";
  } catch (const CodecError& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos)
        << "message should name the file: " << e.what();
  }
}

TEST(ImageDecoder, BadFilesThrowCodecError) {
  expect_codec_error({}, "empty");
  expect_codec_error({'h', 'e', 'l', 'l', 'o'}, "text");
  const Image img = test::synthetic_image(40, 30, 3);
  for (const char* enc : {"png", "tiff", "jpeg:80"}) {
    const auto good = encode_image(img, ImageEncoding::parse(enc));
    // Truncated at several points, from the magic bytes on.
    for (size_t keep : {size_t{2}, size_t{4}, size_t{9}, size_t{30}, good.size() / 2, good.size() - 3}) {
      expect_codec_error(std::vector<uint8_t>(good.begin(), good.begin() + keep),
                         std::string(enc) + "-truncated-" + std::to_string(keep));
    }
  }
  // Corrupt PNG: flip a byte inside IHDR so its CRC fails.
  auto png = encode_image(img, ImageEncoding::parse("png"));
  png[20] ^= 0x40;
  expect_codec_error(png, "png-bad-crc");
  // BMP whose rows run past the end; PPM that promises more pixels than it has.
  auto bmp = make_bmp(img, 24, false);
  bmp.resize(bmp.size() - 10);
  expect_codec_error(bmp, "bmp-short");
  const std::string ppm = "P6 100 100 255\nabc";
  expect_codec_error(std::vector<uint8_t>(ppm.begin(), ppm.end()), "ppm-short");
  const std::string huge = "P6 100000 100000 255\n";
  expect_codec_error(std::vector<uint8_t>(huge.begin(), huge.end()), "ppm-huge");
}

// The pixel budget is checked from the header, before anything is decoded: a 249 KB PNG of
// 16000x16000 pixels once cost 1.9 GB.
TEST(ImageDecoder, HeadersOverThePixelBudgetAreRefusedBeforeDecoding) {
  const Image img = test::synthetic_image(40, 30, 3);
  const auto with_size = [&](uint32_t width, uint32_t height) {
    auto png = encode_image(img, ImageEncoding::parse("png"));
    for (int i = 0; i < 4; ++i) {  // IHDR: 8-byte signature, length, "IHDR", width, height (big-endian)
      png[16 + i] = static_cast<uint8_t>(width >> (24 - 8 * i));
      png[20 + i] = static_cast<uint8_t>(height >> (24 - 8 * i));
    }
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), png.data() + 12, 17);  // "IHDR" and its 13 bytes
    for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    return png;
  };
  try {
    decode_image(with_size(16000, 16000), "huge.png");
    FAIL() << "a 16000x16000 PNG was decoded";
  } catch (const CodecError& e) {
    EXPECT_NE(std::string(e.what()).find("huge.png: PNG header gives 16000x16000 pixels; expected 1 to 134217728 pixels"),
              std::string::npos)
        << e.what();
  }
  // Within the budget, the same patched header reaches the pixel data (too short here).
  try {
    decode_image(with_size(8000, 8000), "big.png");
    FAIL();
  } catch (const CodecError& e) {
    EXPECT_EQ(std::string(e.what()).find("pixels; expected"), std::string::npos) << e.what();
  }
}

TEST(ImageDecoder, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  const std::vector<std::vector<uint8_t>> magics = {
      {0xFF, 0xD8, 0xFF}, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, {'I', 'I', 42, 0},
      {'M', 'M', 0, 42},  {'B', 'M'}, {'P', '6', ' '}, {}};
  for (const auto& magic : magics) {
    for (int i = 0; i < 200; ++i) {
      std::vector<uint8_t> bytes(magic);
      const size_t n = rng() % 600;
      for (size_t k = 0; k < n; ++k) bytes.push_back(static_cast<uint8_t>(rng()));
      try {
        decode_image(bytes, "random");
      } catch (const CodecError&) {
      }
    }
  }
}

TEST(ImageDecoder, MutatedValidFilesNeverCrash) {
  std::mt19937 rng(99);
  const Image img = test::synthetic_image(24, 16, 3);
  for (const char* enc : {"png", "tiff", "jpeg:75"}) {
    const auto good = encode_image(img, ImageEncoding::parse(enc));
    for (int i = 0; i < 300; ++i) {
      auto bytes = good;
      for (int k = 0; k < 4; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      try {
        decode_image(bytes, "mutated");
      } catch (const CodecError&) {
      }
    }
  }
}

}  // namespace
}  // namespace byteformer
