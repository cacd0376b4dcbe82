// PNG decoding through libpng. libpng reports errors by longjmp to png_jmpbuf; the setjmp lives
// in a function whose frame holds no C++ objects with destructors, and the caller throws.
#include <csetjmp>
#include <cstring>

#include <png.h>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/png_decoder.h"
#include "image_limits.h"

namespace byteformer {
namespace {

struct MemoryReader {
  const uint8_t* data;
  size_t size;
  size_t offset;
  char message[256];
};

void on_read(png_structp png, png_bytep out, png_size_t length) {
  auto* r = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (length > r->size - r->offset) {
    std::snprintf(r->message, sizeof(r->message),
                  "file ends at byte %zu, expected %zu more bytes", r->size,
                  static_cast<size_t>(length) - (r->size - r->offset));
    png_error(png, r->message);
  }
  std::memcpy(out, r->data + r->offset, length);
  r->offset += length;
}

void on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<MemoryReader*>(png_get_error_ptr(png));
  if (msg != r->message) std::snprintf(r->message, sizeof(r->message), "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

struct Header {
  png_uint_32 width = 0, height = 0;
  int channels = 0;
  bool too_big = false;
};

bool decode_protected(MemoryReader& reader, Header& header, std::vector<uint8_t>* pixels,
                      std::vector<png_bytep>* rows) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, on_error, on_warning);
  if (png == nullptr) {
    std::snprintf(reader.message, sizeof(reader.message), "libpng could not start");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(reader.message, sizeof(reader.message), "libpng could not start");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &reader, on_read);
  png_set_user_limits(png, detail::kMaxImageSide, detail::kMaxImageSide);
  png_set_chunk_malloc_max(png, 64u << 20);
  png_read_info(png, info);
  header.width = png_get_image_width(png, info);
  header.height = png_get_image_height(png, info);
  if (uint64_t{header.width} * header.height > detail::kMaxImagePixels) {
    header.too_big = true;
    png_destroy_read_struct(&png, &info, nullptr);
    return true;
  }
  const int color = png_get_color_type(png, info);
  // Everything to 8-bit grey or RGB: high byte of 16-bit samples (as PIL's "I;16" -> "L"
  // is not what we want; CoreNet only sees 8-bit RGB), palette expanded, alpha dropped.
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header.channels = png_get_channels(png, info);
  if (header.channels != 1 && header.channels != 3) {
    png_error(png, "unexpected channel count after conversion");
  }
  const size_t row = png_get_rowbytes(png, info);
  if (row != size_t{header.width} * header.channels) png_error(png, "unexpected row size");
  pixels->resize(row * header.height);
  rows->resize(header.height);
  for (png_uint_32 y = 0; y < header.height; ++y) (*rows)[y] = pixels->data() + row * y;
  png_read_image(png, rows->data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

Image decode_png(const uint8_t* data, size_t size, const std::string& name) {
  if (data == nullptr || size < 8 || png_sig_cmp(data, 0, 8) != 0) {
    throw CodecError(fmt::format("{}: not a PNG (expected the 8-byte PNG signature at offset 0)",
                                 name));
  }
  MemoryReader reader{data, size, 0, {0}};
  Header header;
  std::vector<uint8_t> pixels;
  std::vector<png_bytep> rows;
  if (!decode_protected(reader, header, &pixels, &rows)) {
    throw CodecError(fmt::format("{}: corrupt or truncated PNG near byte {}: {}", name,
                                 reader.offset, reader.message));
  }
  detail::check_image_size(name, "PNG", header.width, header.height);
  Image img;
  img.width = static_cast<int>(header.width);
  img.height = static_cast<int>(header.height);
  img.channels = header.channels;
  img.pixels = std::move(pixels);
  return img;
}

}  // namespace byteformer
