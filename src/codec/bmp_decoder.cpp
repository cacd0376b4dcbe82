// Windows BMP, hand-written: Debian has no small BMP library, and the uncompressed variants
// are a header plus rows. Every read is bounds-checked (byte_reader.h).
#include "byteformer/codec/bmp_decoder.h"

#include <array>

#include "byte_reader.h"
#include "image_limits.h"

namespace byteformer {
namespace {

constexpr uint32_t kBiRgb = 0;
constexpr uint32_t kBiBitfields = 3;
constexpr uint32_t kBiAlphaBitfields = 6;

// Extracts a channel through a BI_BITFIELDS mask and scales it to 8 bits.
uint8_t masked(uint32_t v, uint32_t mask) {
  if (mask == 0) return 0;
  int shift = 0;
  while (((mask >> shift) & 1u) == 0) ++shift;
  const uint32_t max = mask >> shift;
  const uint32_t x = (v & mask) >> shift;
  return static_cast<uint8_t>((x * 255u + max / 2) / max);
}

}  // namespace

Image decode_bmp(const uint8_t* data, size_t size, const std::string& name) {
  detail::ByteReader r(data, size, name, "BMP");
  if (size < 2 || data[0] != 'B' || data[1] != 'M') r.fail(0, "expected the signature \"BM\"");
  const uint32_t pixel_offset = r.u32le(10, "pixel data offset");
  const uint32_t header_size = r.u32le(14, "info header size");
  if (header_size < 40 && header_size != 12) {
    r.fail(14, fmt::format("info header of {} bytes; expected 12 or at least 40", header_size));
  }
  int64_t width = 0, height = 0;
  uint32_t bits = 0, compression = kBiRgb, colors_used = 0;
  if (header_size == 12) {  // OS/2 BITMAPCOREHEADER
    width = r.u16le(18, "width");
    height = static_cast<int16_t>(r.u16le(20, "height"));
    bits = r.u16le(24, "bit count");
  } else {
    width = static_cast<int32_t>(r.u32le(18, "width"));
    height = static_cast<int32_t>(r.u32le(22, "height"));
    bits = r.u16le(28, "bit count");
    compression = r.u32le(30, "compression");
    colors_used = r.u32le(46, "colours used");
  }
  const bool top_down = height < 0;
  if (top_down) height = -height;
  if (width <= 0) r.fail(18, fmt::format("width {}; expected > 0", width));
  detail::check_image_size(name, "BMP", static_cast<uint64_t>(width), static_cast<uint64_t>(height));
  if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32) {
    r.fail(28, fmt::format("{} bits per pixel; expected 1, 4, 8, 16, 24 or 32", bits));
  }
  std::array<uint32_t, 3> masks = {0, 0, 0};
  if (compression == kBiBitfields || compression == kBiAlphaBitfields) {
    if (bits != 16 && bits != 32) r.fail(30, "BI_BITFIELDS needs 16 or 32 bits per pixel");
    // The masks follow a 40-byte header, or sit inside a V4/V5 header at the same place.
    for (int i = 0; i < 3; ++i) masks[i] = r.u32le(54 + 4 * i, "colour mask");
  } else if (compression != kBiRgb) {
    r.fail(30, fmt::format("compression {}; only uncompressed BMP (0) and bit fields (3) are "
                           "supported", compression));
  } else if (bits == 16) {
    masks = {0x7C00, 0x03E0, 0x001F};  // 5-5-5
  } else if (bits == 32) {
    masks = {0x00FF0000, 0x0000FF00, 0x000000FF};
  }

  // Palette for 1/4/8 bits: BGR0 quads after the info header (BGR triples for OS/2).
  std::vector<std::array<uint8_t, 3>> palette;
  if (bits <= 8) {
    const size_t entry = header_size == 12 ? 3 : 4;
    size_t n = colors_used != 0 ? colors_used : (size_t{1} << bits);
    if (n > 256) r.fail(46, fmt::format("{} palette colours; expected at most 256", n));
    const size_t at = 14 + header_size;
    r.need(at, n * entry, "palette");
    palette.resize(n);
    for (size_t i = 0; i < n; ++i) {
      palette[i] = {data[at + i * entry + 2], data[at + i * entry + 1], data[at + i * entry]};
    }
  }

  const uint64_t row_bytes = ((static_cast<uint64_t>(width) * bits + 31) / 32) * 4;
  r.need(pixel_offset, static_cast<size_t>(row_bytes * height), "pixel rows");

  Image img;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.channels = 3;
  img.pixels.resize(img.size_bytes());
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* src = data + pixel_offset + row_bytes * (top_down ? y : height - 1 - y);
    uint8_t* dst = img.pixels.data() + static_cast<size_t>(y) * width * 3;
    for (int64_t x = 0; x < width; ++x) {
      uint8_t* p = dst + x * 3;
      if (bits <= 8) {
        const int per_byte = 8 / static_cast<int>(bits);
        const uint8_t byte = src[x / per_byte];
        const int shift = 8 - static_cast<int>(bits) * (static_cast<int>(x % per_byte) + 1);
        const size_t index = (byte >> shift) & ((1u << bits) - 1);
        if (index >= palette.size()) {
          r.fail(pixel_offset, fmt::format("palette index {} beyond {} colours", index,
                                           palette.size()));
        }
        p[0] = palette[index][0], p[1] = palette[index][1], p[2] = palette[index][2];
      } else if (bits == 24) {
        p[0] = src[x * 3 + 2], p[1] = src[x * 3 + 1], p[2] = src[x * 3];
      } else {
        const uint32_t v = bits == 16
                               ? static_cast<uint32_t>(src[x * 2] | (src[x * 2 + 1] << 8))
                               : static_cast<uint32_t>(src[x * 4]) | (src[x * 4 + 1] << 8) |
                                     (src[x * 4 + 2] << 16) |
                                     (static_cast<uint32_t>(src[x * 4 + 3]) << 24);
        p[0] = masked(v, masks[0]), p[1] = masked(v, masks[1]), p[2] = masked(v, masks[2]);
      }
    }
  }
  return img;
}

}  // namespace byteformer
