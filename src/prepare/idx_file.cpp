#include "byteformer/prepare/idx_file.h"

#include <fmt/format.h>
#include <zlib.h>

#include <stdexcept>

#include "byteformer/io/file.h"

namespace byteformer {

namespace {

constexpr uint8_t kUnsignedByte = 0x08;
constexpr int kMaxDims = 8;

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | uint32_t{b[at + 3]};
}

// Inflates a gzip stream (zlib's gzip wrapper, windowBits 15 + 16), refusing more than `limit`
// output bytes.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path, int64_t limit) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error(fmt::format("{}: cannot start zlib", path));
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = chunk.data();
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const uint64_t at = z.total_in;
      const std::string why = z.msg ? z.msg : (rc == Z_BUF_ERROR ? "unexpected end of data" : "corrupt data");
      inflateEnd(&z);
      throw std::runtime_error(fmt::format("{}: gzip stream broken at compressed byte {}: {}", path, at, why));
    }
    const size_t got = chunk.size() - z.avail_out;
    if (static_cast<int64_t>(out.size() + got) > limit) {
      inflateEnd(&z);
      throw std::runtime_error(
          fmt::format("{}: decompresses to more than {} bytes; not an IDX file of a data set this reads", path, limit));
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    if (rc == Z_OK && z.avail_in == 0 && got == 0) {
      const uint64_t at = z.total_in;
      inflateEnd(&z);
      throw std::runtime_error(fmt::format("{}: gzip stream truncated at compressed byte {}", path, at));
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

IdxArray parse_idx(const std::vector<uint8_t>& b, const std::string& source) {
  if (b.size() < 4)
    throw std::runtime_error(fmt::format("{}: {} bytes; an IDX file starts with a 4-byte magic", source, b.size()));
  if (b[0] != 0 || b[1] != 0)
    throw std::runtime_error(fmt::format("{}: offset 0: magic {:02x} {:02x} {:02x} {:02x} is not an IDX file's "
                                         "(00 00 <type> <dims>)",
                                         source, b[0], b[1], b[2], b[3]));
  if (b[2] != kUnsignedByte)
    throw std::runtime_error(fmt::format("{}: offset 2: value type 0x{:02x}; only unsigned bytes (0x08) are read",
                                         source, b[2]));
  const int ndims = b[3];
  if (ndims < 1 || ndims > kMaxDims)
    throw std::runtime_error(fmt::format("{}: offset 3: {} dimensions; expected 1..{}", source, ndims, kMaxDims));
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (b.size() < header)
    throw std::runtime_error(fmt::format("{}: truncated at offset {}: the header of {} dimensions needs {} bytes",
                                         source, b.size(), ndims, header));
  IdxArray a;
  uint64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t n = be32(b, 4 + 4 * static_cast<size_t>(d));
    if (n != 0 && count > (uint64_t{1} << 48) / n)
      throw std::runtime_error(fmt::format("{}: offset {}: dimension {} = {} makes more than 2^48 values", source,
                                           4 + 4 * d, d, n));
    count *= n;
    a.dims.push_back(n);
  }
  if (b.size() - header != count)
    throw std::runtime_error(fmt::format("{}: {} at offset {}: the dimensions ({}) give {} values but {} bytes follow "
                                         "the header",
                                         source, b.size() - header < count ? "truncated" : "trailing bytes",
                                         header + std::min<uint64_t>(count, b.size() - header),
                                         fmt::join(a.dims, " x "), count, b.size() - header));
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

IdxArray read_idx(const std::string& path, int64_t max_bytes) {
  std::vector<uint8_t> bytes = read_file(path, max_bytes);
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = gunzip(bytes, path, max_bytes);
  return parse_idx(bytes, path);
}

}  // namespace byteformer
