#include "byteformer/codec/image_decoder.h"

#include <fmt/format.h>

#include "byteformer/codec/bmp_decoder.h"
#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/file_format.h"
#include "byteformer/codec/jpeg_codec.h"
#include "byteformer/codec/png_decoder.h"
#include "byteformer/codec/tiff_decoder.h"
#include "byteformer/codec/pnm_decoder.h"

namespace byteformer {

Image decode_image(const uint8_t* data, size_t size, const std::string& name_for_errors) {
  const std::string& name = name_for_errors;
  if (data == nullptr || size == 0) throw CodecError(fmt::format("{}: empty file", name));
  const FileFormat format = detect_format(data, size);
  switch (format) {
    case FileFormat::kJpeg: return decode_jpeg(data, size, name);
    case FileFormat::kPng: return decode_png(data, size, name);
    case FileFormat::kTiff: return decode_tiff(data, size, name);
    case FileFormat::kBmp: return decode_bmp(data, size, name);
    case FileFormat::kPnm: return decode_pnm(data, size, name);
    case FileFormat::kWav:
    case FileFormat::kMp3:
      throw CodecError(fmt::format("{}: is {} audio, expected an image", name, format_name(format)));
    case FileFormat::kUnknown: break;
  }
  std::string head;
  for (size_t i = 0; i < std::min<size_t>(size, 8); ++i) head += fmt::format("{:02x}", data[i]);
  throw CodecError(fmt::format("{}: unknown image format (first bytes {}); expected JPEG, PNG, "
                               "TIFF, BMP or PGM/PPM", name, head));
}

Image to_rgb(const Image& image) {
  if (image.channels == 3) return image;
  if (image.channels != 1) {
    throw CodecError(fmt::format("to_rgb: expected 1 or 3 channels, got {}", image.channels));
  }
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.channels = 3;
  out.pixels.resize(image.pixels.size() * 3);
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = image.pixels[i];
  }
  return out;
}

}  // namespace byteformer
