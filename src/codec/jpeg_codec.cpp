// JPEG through libjpeg-turbo. libjpeg reports fatal errors by calling error_exit, which must
// not return; we longjmp back to a setjmp in a function whose frame holds no C++ objects with
// destructors (so nothing is skipped), then throw CodecError from the caller.
#include "byteformer/codec/jpeg_codec.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>
#include <jerror.h>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"
#include "image_limits.h"

namespace byteformer {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are silent, except running out of data: a truncated file is an error for us
// (libjpeg would otherwise fill the rest of the image with grey).
void on_emit_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error_exit(cinfo);
}

void on_output_message(j_common_ptr) {}

void init_error_manager(ErrorManager& err) {
  jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error_exit;
  err.pub.emit_message = on_emit_message;
  err.pub.output_message = on_output_message;
  err.message[0] = '\0';
}

// Plain-data result of the protected decode, filled in before any C++ object is touched.
struct DecodeHeader {
  JDIMENSION width = 0, height = 0;
  int components = 0;
  bool cmyk = false;
  bool adobe_inverted = false;
};

// Returns false with err.message set on a libjpeg error. `pixels` is resized by the callback
// between header and scanlines; the std::vector itself lives in the caller's frame.
bool decode_protected(const uint8_t* data, size_t size, ErrorManager& err, DecodeHeader& header,
                      std::vector<uint8_t>* pixels, const std::string* name) {
  jpeg_decompress_struct cinfo;
  std::memset(&cinfo, 0, sizeof(cinfo));
  cinfo.err = &err.pub;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    cinfo.out_color_space = JCS_CMYK;
    header.cmyk = true;
    header.adobe_inverted = cinfo.saw_Adobe_marker;
  } else {
    cinfo.out_color_space = JCS_RGB;
  }
  header.width = cinfo.image_width;
  header.height = cinfo.image_height;
  const uint64_t npix = uint64_t{cinfo.image_width} * cinfo.image_height;
  if (cinfo.image_width == 0 || cinfo.image_height == 0 ||
      npix > detail::kMaxImagePixels) {
    jpeg_destroy_decompress(&cinfo);
    return true;  // caller reports the size
  }
  jpeg_start_decompress(&cinfo);
  header.components = cinfo.output_components;
  const size_t row = static_cast<size_t>(cinfo.output_width) * cinfo.output_components;
  pixels->resize(row * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rowp = pixels->data() + row * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &rowp, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  (void)name;
  return true;
}

struct EncodeResult {
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
};

bool encode_protected(const Image& image, int quality, ErrorManager& err, EncodeResult& result) {
  jpeg_compress_struct cinfo;
  std::memset(&cinfo, 0, sizeof(cinfo));
  cinfo.err = &err.pub;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &result.buffer, &result.size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  // PIL 9.4 JpegEncode.c: defaults, then quality with force_baseline, library-default
  // subsampling (2x2 luma = 4:2:0), smoothing 0, optimize_coding off, no restart interval,
  // default JFIF header (version 1.01, density unit 0, 1:1), slow integer DCT.
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  cinfo.smoothing_factor = 0;
  cinfo.optimize_coding = FALSE;
  cinfo.restart_interval = 0;
  jpeg_start_compress(&cinfo, FALSE);
  const size_t row = static_cast<size_t>(image.width) * image.channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW rowp = const_cast<uint8_t*>(image.pixels.data()) + row * cinfo.next_scanline;
    jpeg_write_scanlines(&cinfo, &rowp, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name) {
  if (data == nullptr || size < 4) {
    throw CodecError(fmt::format("{}: JPEG of {} bytes is too short to hold a header", name, size));
  }
  ErrorManager err;
  init_error_manager(err);
  DecodeHeader header;
  std::vector<uint8_t> pixels;
  if (!decode_protected(data, size, err, header, &pixels, &name)) {
    throw CodecError(fmt::format("{}: corrupt or truncated JPEG: {}", name, err.message));
  }
  detail::check_image_size(name, "JPEG", header.width, header.height);
  Image img;
  img.width = static_cast<int>(header.width);
  img.height = static_cast<int>(header.height);
  if (header.cmyk) {
    // CMYK -> RGB as PIL does: Adobe files store inverted CMYK.
    const size_t n = static_cast<size_t>(img.width) * img.height;
    img.channels = 3;
    img.pixels.resize(n * 3);
    for (size_t i = 0; i < n; ++i) {
      int c = pixels[4 * i], m = pixels[4 * i + 1], y = pixels[4 * i + 2], k = pixels[4 * i + 3];
      if (!header.adobe_inverted) {
        c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
      }
      img.pixels[3 * i] = static_cast<uint8_t>(c * k / 255);
      img.pixels[3 * i + 1] = static_cast<uint8_t>(m * k / 255);
      img.pixels[3 * i + 2] = static_cast<uint8_t>(y * k / 255);
    }
  } else {
    img.channels = header.components;
    img.pixels = std::move(pixels);
  }
  return img;
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  if (image.channels != 1 && image.channels != 3) {
    throw CodecError(fmt::format("encode_jpeg: expected 1 or 3 channels, got {}", image.channels));
  }
  if (image.width <= 0 || image.height <= 0 || image.width > 65500 || image.height > 65500 ||
      image.pixels.size() != image.size_bytes()) {
    throw CodecError(fmt::format("encode_jpeg: bad image {}x{}x{} with {} bytes", image.width,
                                 image.height, image.channels, image.pixels.size()));
  }
  if (quality < 1 || quality > 100) {
    throw CodecError(fmt::format("encode_jpeg: quality must be 1-100, got {}", quality));
  }
  ErrorManager err;
  init_error_manager(err);
  EncodeResult result;
  const bool ok = encode_protected(image, quality, err, result);
  std::vector<uint8_t> out;
  if (ok && result.buffer != nullptr) out.assign(result.buffer, result.buffer + result.size);
  std::free(result.buffer);
  if (!ok) throw CodecError(fmt::format("encode_jpeg: libjpeg failed: {}", err.message));
  return out;
}

}  // namespace byteformer
