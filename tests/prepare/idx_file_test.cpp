// The IDX reader (src/data/idx_file.cpp) on hand-made files: values, gzip, and every way an
// untrusted file can be wrong, each error naming the file and the offset.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <string>

#include "byteformer/prepare/idx_file.h"
#include "test_util.h"

namespace byteformer {
namespace {

std::vector<uint8_t> idx(uint8_t type, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  b.insert(b.end(), values.begin(), values.end());
  return b;
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, static_cast<uLong>(in.size())) + 64);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& part) {
  try {
    parse_idx(bytes, "hand.idx");
    FAIL() << "expected an error containing '" << part << "'";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("hand.idx"), std::string::npos) << what;
    EXPECT_NE(what.find(part), std::string::npos) << what;
  }
}

TEST(IdxFile, ParsesDimsAndValuesRowMajor) {
  const IdxArray a = parse_idx(idx(0x08, {2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), "hand.idx");
  EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 2, 3}));
  ASSERT_EQ(a.data.size(), 12u);
  EXPECT_EQ(a.data[0], 1);
  EXPECT_EQ(a.data[11], 12);
  // Big-endian counts: 0x0000EA60 = 60000 labels.
  const IdxArray big = parse_idx(idx(0x08, {60000}, std::vector<uint8_t>(60000, 3)), "hand.idx");
  EXPECT_EQ(big.dims[0], 60000);
}

TEST(IdxFile, ReadsPlainAndGzipFilesAlike) {
  const std::string dir = test::make_temp_dir("idx");
  const auto bytes = idx(0x08, {3, 2}, {9, 8, 7, 6, 5, 4});
  test::write_bytes(dir + "/a.idx", bytes);
  test::write_bytes(dir + "/a.idx.gz", gzip(bytes));
  const IdxArray plain = read_idx(dir + "/a.idx");
  const IdxArray gz = read_idx(dir + "/a.idx.gz");
  EXPECT_EQ(plain.dims, gz.dims);
  EXPECT_EQ(plain.data, gz.data);
  EXPECT_EQ(gz.data, (std::vector<uint8_t>{9, 8, 7, 6, 5, 4}));
  // A truncated gzip stream names the file and where it broke.
  auto cut = gzip(bytes);
  cut.resize(cut.size() / 2);
  test::write_bytes(dir + "/cut.idx.gz", cut);
  try {
    read_idx(dir + "/cut.idx.gz");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.idx.gz: gzip stream"), std::string::npos) << e.what();
  }
  // A gzip bomb (or a wrong file) beyond the limit is refused, not allocated.
  test::write_bytes(dir + "/big.gz", gzip(std::vector<uint8_t>(5 << 20, 0)));
  try {
    read_idx(dir + "/big.gz", /*max_bytes=*/1 << 20);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 1048576 bytes"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(IdxFile, WrongMagicTypeAndDimsAreNamedWithTheirOffset) {
  expect_error({0, 0}, "2 bytes");
  expect_error({1, 0, 8, 1, 0, 0, 0, 0}, "offset 0: magic 01 00 08 01");
  expect_error(idx(0x0D, {1}, {0, 0, 0, 0}), "offset 2: value type 0x0d");  // float32 is not read
  expect_error({0, 0, 8, 0}, "offset 3: 0 dimensions");
  expect_error({0, 0, 8, 2, 0, 0, 0}, "truncated at offset 7");
}

TEST(IdxFile, CountsThatDisagreeWithTheLengthAreErrors) {
  // Header says 2 x 3 = 6 values; 5 follow (truncated) or 7 (trailing bytes).
  expect_error(idx(0x08, {2, 3}, {1, 2, 3, 4, 5}), "truncated at offset 17");
  expect_error(idx(0x08, {2, 3}, {1, 2, 3, 4, 5, 6, 7}), "trailing bytes");
  // Dimensions whose product overflows are refused before any arithmetic goes wrong; huge
  // ones that do not overflow are a truncation, found before any allocation.
  expect_error(idx(0x08, {0xFFFFFFFF, 0xFFFFFFFF}, {1}), "offset 8: dimension 1 = 4294967295");
  expect_error(idx(0x08, {0xFFFFFFFF}, {1}), "truncated at offset 9");
}

}  // namespace
}  // namespace byteformer
