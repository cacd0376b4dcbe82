// Netpbm PGM/PPM, hand-written: a text header and raw or ASCII samples. Bounds-checked.
#include "byteformer/codec/pnm_decoder.h"

#include <cctype>

#include "byte_reader.h"
#include "image_limits.h"

namespace byteformer {
namespace {

// Parses the next unsigned decimal of the header, skipping whitespace and # comments.
uint64_t next_number(const detail::ByteReader& r, size_t& pos, const char* what) {
  const uint8_t* d = r.data();
  while (pos < r.size()) {
    if (d[pos] == '#') {
      while (pos < r.size() && d[pos] != '\n' && d[pos] != '\r') ++pos;
    } else if (std::isspace(d[pos])) {
      ++pos;
    } else {
      break;
    }
  }
  if (pos >= r.size()) r.fail(pos, fmt::format("file ends; expected the {}", what));
  if (!std::isdigit(d[pos])) r.fail(pos, fmt::format("expected the {} (a decimal number)", what));
  uint64_t v = 0;
  while (pos < r.size() && std::isdigit(d[pos])) {
    v = v * 10 + (d[pos] - '0');
    if (v > (uint64_t{1} << 32)) r.fail(pos, fmt::format("the {} is too large", what));
    ++pos;
  }
  return v;
}

}  // namespace

Image decode_pnm(const uint8_t* data, size_t size, const std::string& name) {
  detail::ByteReader r(data, size, name, "PNM");
  if (size < 2 || data[0] != 'P' ||
      (data[1] != '2' && data[1] != '3' && data[1] != '5' && data[1] != '6')) {
    r.fail(0, "expected \"P2\", \"P3\", \"P5\" or \"P6\"");
  }
  const bool ascii = data[1] == '2' || data[1] == '3';
  const int channels = (data[1] == '3' || data[1] == '6') ? 3 : 1;
  size_t pos = 2;
  const uint64_t width = next_number(r, pos, "width");
  const uint64_t height = next_number(r, pos, "height");
  const uint64_t maxval = next_number(r, pos, "maxval");
  detail::check_image_size(name, "PNM", width, height);
  if (maxval == 0 || maxval > 65535) r.fail(pos, fmt::format("maxval {}; expected 1-65535", maxval));

  Image img;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.channels = channels;
  img.pixels.resize(img.size_bytes());
  const size_t n = img.pixels.size();
  auto scale = [maxval](uint64_t v) {
    if (v > maxval) v = maxval;
    return static_cast<uint8_t>((v * 255 + maxval / 2) / maxval);
  };
  if (ascii) {
    for (size_t i = 0; i < n; ++i) img.pixels[i] = scale(next_number(r, pos, "sample"));
    return img;
  }
  // Binary: exactly one whitespace byte separates maxval from the samples.
  if (pos >= size || !std::isspace(data[pos])) r.fail(pos, "expected one whitespace after maxval");
  ++pos;
  const size_t bytes_per_sample = maxval < 256 ? 1 : 2;
  r.need(pos, n * bytes_per_sample, "samples");
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* s = data + pos + i * bytes_per_sample;
    img.pixels[i] = scale(bytes_per_sample == 1 ? s[0] : (s[0] << 8 | s[1]));  // big-endian
  }
  return img;
}

}  // namespace byteformer
