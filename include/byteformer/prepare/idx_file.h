// IDX files (the format of MNIST and Fashion-MNIST, yann.lecun.com/exdb/mnist): a 4-byte magic
// (0, 0, type, number of dimensions), one big-endian uint32 per dimension, then the values in
// row-major order. Plain or gzip-compressed (as Debian's dataset-fashion-mnist ships them).
// Only unsigned bytes (type 0x08) are read: that is what image and label files hold.
//
//   IdxArray images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
//   // images.dims = {10000, 28, 28}; images.data.size() = 7,840,000
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace byteformer {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {N, 28, 28} for images, {N} for labels
  std::vector<uint8_t> data;  // prod(dims) values, row-major
};

/// Parses IDX bytes (already decompressed). Untrusted input: a wrong magic, a type other than
/// unsigned byte, zero or too many dimensions, or a length that disagrees with the dimensions
/// is a std::runtime_error naming `source` and the byte offset.
IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& source);

/// Reads `path` (gzip when it starts with the gzip magic 1f 8b) and parses it. At most
/// `max_bytes` decompressed bytes are accepted (a bomb or a wrong file is an error, not an
/// allocation of any size). Errors name the path and the offset.
IdxArray read_idx(const std::string& path, int64_t max_bytes = int64_t{1} << 30);

}  // namespace byteformer
