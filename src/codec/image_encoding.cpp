#include "byteformer/codec/image_encoding.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/jpeg_codec.h"
#include "byteformer/codec/png_encoder.h"
#include "byteformer/codec/tiff_encoder.h"

namespace byteformer {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// HWC -> CHW: CoreNet's fCHW is the tensor's own (C, H, W) memory order.
std::vector<uint8_t> to_chw(const Image& image) {
  const size_t hw = static_cast<size_t>(image.width) * image.height;
  std::vector<uint8_t> out(hw * image.channels);
  for (size_t i = 0; i < hw; ++i) {
    for (int c = 0; c < image.channels; ++c) out[c * hw + i] = image.pixels[i * image.channels + c];
  }
  return out;
}

}  // namespace

ImageEncoding ImageEncoding::parse(const std::string& text, int quality) {
  const std::string t = lower(text);
  ImageEncoding e;
  e.quality = quality;
  std::string base = t;
  const size_t colon = t.find(':');
  if (colon != std::string::npos) {
    base = t.substr(0, colon);
    const std::string q = t.substr(colon + 1);
    if (base != "jpeg" && base != "jpg") {
      throw std::invalid_argument(fmt::format(
          "image encoding '{}': only jpeg takes a quality (jpeg:Q)", text));
    }
    if (q.empty() || q.size() > 3 || !std::all_of(q.begin(), q.end(), ::isdigit)) {
      throw std::invalid_argument(
          fmt::format("image encoding '{}': expected jpeg:Q with Q an integer 1-100", text));
    }
    e.quality = std::stoi(q);
  }
  if (base == "tiff" || base == "tif") {
    e.kind = Kind::kTiff;
  } else if (base == "png") {
    e.kind = Kind::kPng;
  } else if (base == "jpeg" || base == "jpg") {
    e.kind = Kind::kJpeg;
  } else if (base == "fchw") {
    e.kind = Kind::kCHW;
  } else if (base == "fhwc") {
    e.kind = Kind::kHWC;
  } else {
    throw std::invalid_argument(fmt::format(
        "unknown image encoding '{}'; expected tiff, png, jpeg, jpeg:Q, fchw or fhwc "
        "(or CoreNet's TIFF, PNG, JPEG, fCHW, fHWC)", text));
  }
  if (e.kind == Kind::kJpeg && (e.quality < 1 || e.quality > 100)) {
    throw std::invalid_argument(
        fmt::format("image encoding '{}': JPEG quality must be 1-100, got {}", text, e.quality));
  }
  return e;
}

std::string ImageEncoding::to_string() const {
  switch (kind) {
    case Kind::kTiff: return "tiff";
    case Kind::kPng: return "png";
    case Kind::kJpeg: return fmt::format("jpeg:{}", quality);
    case Kind::kCHW: return "fchw";
    case Kind::kHWC: return "fhwc";
  }
  return "?";
}

std::vector<uint8_t> encode_image(const Image& image, const ImageEncoding& encoding) {
  if (image.pixels.size() != image.size_bytes() || image.width <= 0 || image.height <= 0) {
    throw CodecError(fmt::format("encode_image: bad image {}x{}x{} with {} bytes", image.width,
                                 image.height, image.channels, image.pixels.size()));
  }
  switch (encoding.kind) {
    case ImageEncoding::Kind::kTiff: return encode_tiff(image);
    case ImageEncoding::Kind::kPng: return encode_png(image, /*compress_level=*/0);
    case ImageEncoding::Kind::kJpeg: return encode_jpeg(image, encoding.quality);
    case ImageEncoding::Kind::kCHW: return to_chw(image);
    case ImageEncoding::Kind::kHWC: return image.pixels;
  }
  throw CodecError("encode_image: unknown encoding");
}

Image image_from_chw_floats(const float* chw, int channels, int height, int width) {
  if (channels != 1 && channels != 3) {
    throw CodecError(fmt::format("image_from_chw_floats: expected 1 or 3 channels, got {}", channels));
  }
  if (height <= 0 || width <= 0) {
    throw CodecError(fmt::format("image_from_chw_floats: bad size {}x{}", height, width));
  }
  Image img;
  img.width = width;
  img.height = height;
  img.channels = channels;
  img.pixels.resize(img.size_bytes());
  const size_t hw = static_cast<size_t>(width) * height;
  for (int c = 0; c < channels; ++c) {
    for (size_t i = 0; i < hw; ++i) {
      // (x * 255).byte(): float32 product, truncated toward zero.
      float v = chw[c * hw + i];
      v = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);  // NaN also ends at 0 below
      const float scaled = v * 255.0f;
      img.pixels[i * channels + c] = scaled >= 0.f ? static_cast<uint8_t>(scaled) : 0;
    }
  }
  return img;
}

}  // namespace byteformer
