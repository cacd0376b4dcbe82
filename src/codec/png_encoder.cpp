// PIL 9.4's PNG writer (PngImagePlugin._save over ImageFile._save and ZipEncode.c), reproduced
// byte for byte: same chunks, same per-row filter choice, same zlib call pattern (the stored
// block boundaries at compress_level 0 depend on how input and output buffers are handed to
// zlib). Checked against fixtures/encoders/image*.png.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <zlib.h>

#include "byte_writer.h"
#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/png_encoder.h"

namespace byteformer {
namespace {

// |v| of a filtered byte read as signed, the cost PIL (after libpng) minimises.
// Written as |int8(v)| (equal for all v, 128 included) so the loops vectorise.
inline int cost(uint8_t v) {
  const int s = static_cast<int8_t>(v);
  return s < 0 ? -s : s;
}

/// The state machine of PIL's ImagingZipEncode for ZIP_PNG: each encode() call fills at most
/// `bufsize` output bytes, exactly as one `encoder.encode(bufsize)` call does in PIL.
class PilZipEncoder {
 public:
  PilZipEncoder(const Image& image, int compress_level)
      : image_(image),
        bytes_(static_cast<size_t>(image.width) * image.channels),
        bpp_(image.channels),
        buffer_(bytes_ + 1, 0),
        previous_(bytes_ + 1, 0),
        prior_(bytes_ + 1, 1),
        up_(bytes_ + 1, 2),
        paeth_(bytes_ + 1, 4) {
    std::memset(&z_, 0, sizeof(z_));
    // PIL: level, Z_DEFLATED, 15 window bits, memLevel 9, Z_FILTERED for PNG.
    if (deflateInit2(&z_, compress_level, Z_DEFLATED, 15, 9, Z_FILTERED) != Z_OK) {
      throw CodecError(fmt::format("encode_png: zlib refused compress_level {}", compress_level));
    }
  }
  ~PilZipEncoder() { deflateEnd(&z_); }
  PilZipEncoder(const PilZipEncoder&) = delete;
  PilZipEncoder& operator=(const PilZipEncoder&) = delete;

  bool finished() const { return finished_; }

  /// Writes up to `bufsize` bytes of zlib stream into `out`; returns how many.
  size_t encode(uint8_t* out, size_t bufsize) {
    z_.next_out = out;
    z_.avail_out = static_cast<uInt>(bufsize);
    if (z_.next_in != nullptr && z_.avail_in > 0) checked_deflate(Z_NO_FLUSH);

    if (state_ == 1) {
      while (z_.avail_out > 0) {
        if (y_ >= image_.height) {
          state_ = 2;
          break;
        }
        compress_next_row();
      }
      if (z_.avail_out == 0) return bufsize;
    }
    // state 2: flush the compressor.
    while (z_.avail_out > 0) {
      const int err = deflate(&z_, Z_FINISH);
      if (err == Z_STREAM_END) {
        finished_ = true;
        break;
      }
      if (err < 0 && err != Z_BUF_ERROR) throw CodecError("encode_png: zlib deflate failed");
    }
    return bufsize - z_.avail_out;
  }

 private:
  void checked_deflate(int flush) {
    const int err = deflate(&z_, flush);
    if (err < 0 && err != Z_BUF_ERROR) throw CodecError("encode_png: zlib deflate failed");
  }

  void compress_next_row() {
    std::memcpy(buffer_.data() + 1, image_.pixels.data() + static_cast<size_t>(y_) * bytes_,
                bytes_);
    ++y_;
    const std::vector<uint8_t>* output = &buffer_;  // filter 0 (None); buffer_[0] stays 0

    const uint8_t* cur = buffer_.data();
    const uint8_t* prev = previous_.data();
    const size_t n = bytes_, bpp = bpp_;
    int sum = 0;
    for (size_t i = 1; i <= n; ++i) sum += cost(cur[i]);
    if (sum > 0) {  // 2: Up (tested first, it is 0 for a repeated row)
      uint8_t* up = up_.data();
      int s = 0;
      for (size_t i = 1; i <= n; ++i) {
        up[i] = static_cast<uint8_t>(cur[i] - prev[i]);
        s += cost(up[i]);
      }
      if (s < sum) {
        output = &up_;
        sum = s;
      }
    }
    if (sum > 0) {  // 1: Sub ("prior" in PIL)
      uint8_t* sub = prior_.data();
      int s = 0;
      for (size_t i = 1; i <= bpp; ++i) {
        sub[i] = cur[i];
        s += cost(sub[i]);
      }
      for (size_t i = bpp + 1; i <= n; ++i) {
        sub[i] = static_cast<uint8_t>(cur[i] - cur[i - bpp]);
        s += cost(sub[i]);
      }
      if (s < sum) {
        output = &prior_;
        sum = s;
      }
    }
    // 3: Average is only tried with optimize=True, which CoreNet does not use.
    if (sum > 0) {  // 4: Paeth
      uint8_t* pa_out = paeth_.data();
      int s = 0;
      for (size_t i = 1; i <= bpp; ++i) {
        pa_out[i] = static_cast<uint8_t>(cur[i] - prev[i]);
        s += cost(pa_out[i]);
      }
      for (size_t i = bpp + 1; i <= n; ++i) {
        const int a = cur[i - bpp], b = prev[i], c = prev[i - bpp];
        const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
        const int pred = (pa <= pb && pa <= pc) ? a : (pb <= pc) ? b : c;
        pa_out[i] = static_cast<uint8_t>(cur[i] - pred);
        s += cost(pa_out[i]);
      }
      if (s < sum) {
        output = &paeth_;
        sum = s;
      }
    }
    // The chosen row must outlive this call if zlib keeps part of it for the next encode();
    // copy it to its own buffer (PIL keeps pointing into its filter buffers, equivalently).
    pending_ = *output;
    z_.next_in = pending_.data();
    z_.avail_in = static_cast<uInt>(bytes_ + 1);
    checked_deflate(Z_NO_FLUSH);
    std::swap(buffer_, previous_);
  }

  const Image& image_;
  size_t bytes_;
  size_t bpp_;
  std::vector<uint8_t> buffer_, previous_, prior_, up_, paeth_, pending_;
  z_stream z_;
  int state_ = 1;
  int y_ = 0;
  bool finished_ = false;
};

void put_chunk(std::vector<uint8_t>& out, const char (&type)[5], const uint8_t* data,
               size_t size) {
  detail::put_u32be(out, static_cast<uint32_t>(size));
  const size_t start = out.size();
  detail::put_tag(out, type);
  if (size > 0) out.insert(out.end(), data, data + size);
  const uLong crc = crc32(0L, out.data() + start, static_cast<uInt>(size + 4));
  detail::put_u32be(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& image, int compress_level) {
  if (image.channels != 1 && image.channels != 3) {
    throw CodecError(fmt::format("encode_png: expected 1 or 3 channels, got {}", image.channels));
  }
  if (image.width <= 0 || image.height <= 0 || image.pixels.size() != image.size_bytes()) {
    throw CodecError(fmt::format("encode_png: bad image {}x{}x{} with {} bytes", image.width,
                                 image.height, image.channels, image.pixels.size()));
  }
  if (compress_level < 0 || compress_level > 9) {
    throw CodecError(fmt::format("encode_png: compress_level must be 0-9, got {}", compress_level));
  }
  std::vector<uint8_t> out;
  out.reserve(image.size_bytes() + image.height + 1024);
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  out.insert(out.end(), signature, signature + 8);

  std::vector<uint8_t> ihdr;
  detail::put_u32be(ihdr, static_cast<uint32_t>(image.width));
  detail::put_u32be(ihdr, static_cast<uint32_t>(image.height));
  ihdr.push_back(8);                           // bit depth
  ihdr.push_back(image.channels == 3 ? 2 : 0); // colour type: RGB or grey ("L")
  ihdr.push_back(0);                           // compression
  ihdr.push_back(0);                           // filter method
  ihdr.push_back(0);                           // no interlace
  put_chunk(out, "IHDR", ihdr.data(), ihdr.size());

  // ImageFile._save: bufsize = max(MAXBLOCK = 65536, 4 * width); every encoder.encode(bufsize)
  // result becomes one IDAT chunk.
  const size_t bufsize = std::max<size_t>(65536, static_cast<size_t>(image.width) * 4);
  std::vector<uint8_t> buf(bufsize);
  PilZipEncoder encoder(image, compress_level);
  while (true) {
    const size_t n = encoder.encode(buf.data(), bufsize);
    put_chunk(out, "IDAT", buf.data(), n);
    if (encoder.finished()) break;
  }
  put_chunk(out, "IEND", nullptr, 0);
  return out;
}

}  // namespace byteformer
