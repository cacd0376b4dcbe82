// PIL 9.4's uncompressed TIFF writer (TiffImagePlugin._save + ImageFileDirectory_v2.save),
// reproduced byte for byte; checked against fixtures/encoders/image*.tiff.
#include <stdexcept>

#include <fmt/format.h>

#include "byte_writer.h"
#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/tiff_encoder.h"

namespace byteformer {
namespace {

constexpr uint16_t kShort = 3;
constexpr uint16_t kLong = 4;

struct Entry {
  uint16_t tag;
  uint16_t type;
  uint32_t count;
  uint32_t value;  // inline value, or offset of the out-of-line data
};

}  // namespace

std::vector<uint8_t> encode_tiff(const Image& image) {
  if (image.channels != 1 && image.channels != 3) {
    throw CodecError(fmt::format("encode_tiff: expected 1 or 3 channels, got {}", image.channels));
  }
  if (image.width <= 0 || image.height <= 0 || image.pixels.size() != image.size_bytes()) {
    throw CodecError(fmt::format("encode_tiff: bad image {}x{}x{} with {} bytes", image.width,
                                 image.height, image.channels, image.pixels.size()));
  }
  const bool rgb = image.channels == 3;
  const uint32_t w = static_cast<uint32_t>(image.width);
  const uint32_t h = static_cast<uint32_t>(image.height);
  const uint32_t strip_bytes = static_cast<uint32_t>(image.size_bytes());

  // PIL writes the IFD right after the 8-byte header, entries sorted by tag, then the
  // out-of-line values (only RGB's BitsPerSample triple), then the single strip.
  const uint32_t n_entries = rgb ? 10 : 9;
  const uint32_t ifd_end = 8 + 2 + 12 * n_entries + 4;
  const uint32_t bits_offset = ifd_end;
  const uint32_t strip_offset = rgb ? ifd_end + 6 : ifd_end;

  std::vector<Entry> entries = {
      {256, kLong, 1, w},                              // ImageWidth
      {257, kLong, 1, h},                              // ImageLength
      {258, kShort, rgb ? 3u : 1u, rgb ? bits_offset : 8u},  // BitsPerSample
      {259, kShort, 1, 1},                             // Compression: none
      {262, kShort, 1, rgb ? 2u : 1u},                 // Photometric: RGB / BlackIsZero
      {273, kLong, 1, strip_offset},                   // StripOffsets
  };
  if (rgb) entries.push_back({277, kShort, 1, 3});    // SamplesPerPixel (only when != 1)
  entries.push_back({278, kLong, 1, h});               // RowsPerStrip: the whole image
  entries.push_back({279, kLong, 1, strip_bytes});     // StripByteCounts
  entries.push_back({284, kShort, 1, 1});              // PlanarConfiguration: chunky

  // The byte-order mark and 42 as the vector's first bytes (GCC 12 warns, wrongly, of an overflow
  // for an insert of them into the empty reserved vector: -Wstringop-overflow).
  std::vector<uint8_t> out{'I', 'I', 42, 0};
  out.reserve(strip_offset + strip_bytes);
  detail::put_u32le(out, 8);
  detail::put_u16le(out, static_cast<uint16_t>(entries.size()));
  for (const Entry& e : entries) {
    detail::put_u16le(out, e.tag);
    detail::put_u16le(out, e.type);
    detail::put_u32le(out, e.count);
    if (e.type == kShort && e.count == 1) {  // a SHORT sits in the first 2 bytes, zero padded
      detail::put_u16le(out, static_cast<uint16_t>(e.value));
      detail::put_u16le(out, 0);
    } else {
      detail::put_u32le(out, e.value);
    }
  }
  detail::put_u32le(out, 0);  // no next IFD
  if (rgb) {
    for (int i = 0; i < 3; ++i) detail::put_u16le(out, 8);
  }
  out.insert(out.end(), image.pixels.begin(), image.pixels.end());
  return out;
}

}  // namespace byteformer
