// Bounds-checked little-endian reads for the hand-written parsers (BMP, PNM).
// Private to src/codec.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"

namespace byteformer::detail {

/// Reads from [data, data + size); every read checks its range and throws a CodecError naming
/// the file, the offset and what was being read.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, const std::string& name, const char* format)
      : data_(data), size_(size), name_(name), format_(format) {}

  size_t size() const { return size_; }
  const uint8_t* data() const { return data_; }

  void need(size_t offset, size_t n, const char* what) const {
    if (offset > size_ || n > size_ - offset) {
      throw CodecError(fmt::format("{}: truncated {}: expected {} at byte {} ({} bytes), file has {}",
                                   name_, format_, what, offset, n, size_));
    }
  }
  uint8_t u8(size_t offset, const char* what) const {
    need(offset, 1, what);
    return data_[offset];
  }
  uint16_t u16le(size_t offset, const char* what) const {
    need(offset, 2, what);
    return static_cast<uint16_t>(data_[offset] | (data_[offset + 1] << 8));
  }
  uint32_t u32le(size_t offset, const char* what) const {
    need(offset, 4, what);
    return static_cast<uint32_t>(data_[offset]) | (static_cast<uint32_t>(data_[offset + 1]) << 8) |
           (static_cast<uint32_t>(data_[offset + 2]) << 16) |
           (static_cast<uint32_t>(data_[offset + 3]) << 24);
  }
  [[noreturn]] void fail(size_t offset, const std::string& what) const {
    throw CodecError(fmt::format("{}: bad {} at byte {}: {}", name_, format_, offset, what));
  }

 private:
  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  const char* format_;
};

}  // namespace byteformer::detail
