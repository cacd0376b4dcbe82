// TIFF decoding through libtiff reading from memory (TIFFClientOpenExt). libtiff's error and
// warning handlers are per-file (TIFFOpenOptions, libtiff 4.5), so nothing reaches stderr and
// no global handler is touched; its first error message becomes the CodecError text.
#include <algorithm>
#include <cstring>
#include <memory>

#include <tiffio.h>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/tiff_decoder.h"
#include "image_limits.h"

namespace byteformer {
namespace {

struct MemoryFile {
  const uint8_t* data;
  size_t size;
  uint64_t offset = 0;
  std::string first_error;
};

tmsize_t on_read(thandle_t h, void* buf, tmsize_t n) {
  auto* f = static_cast<MemoryFile*>(h);
  if (n <= 0 || f->offset >= f->size) return 0;
  const size_t take = std::min<uint64_t>(static_cast<uint64_t>(n), f->size - f->offset);
  std::memcpy(buf, f->data + f->offset, take);
  f->offset += take;
  return static_cast<tmsize_t>(take);
}
tmsize_t on_write(thandle_t, void*, tmsize_t) { return 0; }
toff_t on_seek(thandle_t h, toff_t off, int whence) {
  auto* f = static_cast<MemoryFile*>(h);
  uint64_t base = 0;
  if (whence == SEEK_CUR) base = f->offset;
  if (whence == SEEK_END) base = f->size;
  f->offset = base + off;  // past the end is allowed; reads there return 0 bytes
  return f->offset;
}
int on_close(thandle_t) { return 0; }
toff_t on_size(thandle_t h) { return static_cast<MemoryFile*>(h)->size; }
int on_map(thandle_t, void**, toff_t*) { return 0; }
void on_unmap(thandle_t, void*, toff_t) {}

int on_error(TIFF*, void* user, const char* module, const char* fmt_, va_list ap) {
  auto* f = static_cast<MemoryFile*>(user);
  if (f->first_error.empty()) {
    char buf[512];
    std::vsnprintf(buf, sizeof(buf), fmt_, ap);
    f->first_error = module ? std::string(module) + ": " + buf : std::string(buf);
  }
  return 1;  // handled: do not call the global handler (which prints to stderr)
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
struct OptionsFreer {
  void operator()(TIFFOpenOptions* o) const { TIFFOpenOptionsFree(o); }
};

}  // namespace

Image decode_tiff(const uint8_t* data, size_t size, const std::string& name) {
  if (data == nullptr || size < 8) {
    throw CodecError(fmt::format("{}: TIFF of {} bytes is too short to hold a header", name, size));
  }
  MemoryFile file{data, size};
  std::unique_ptr<TIFFOpenOptions, OptionsFreer> opts(TIFFOpenOptionsAlloc());
  TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), on_error, &file);
  TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), on_warning, &file);
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts.get(), 1 << 30);
  auto fail = [&](const std::string& what) {
    return CodecError(fmt::format("{}: {}{}{}", name, what, file.first_error.empty() ? "" : ": ",
                                  file.first_error));
  };
  // "rm": read-only, no memory mapping (we already hold the bytes).
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFClientOpenExt(
      name.c_str(), "rm", &file, on_read, on_write, on_seek, on_close, on_size, on_map, on_unmap,
      opts.get()));
  if (!tif) throw fail("not a readable TIFF (header or first directory)");

  uint32_t width = 0, height = 0;
  uint16_t spp = 1, bps = 1, photometric = 0, planar = PLANARCONFIG_CONTIG;
  if (!TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width) ||
      !TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height)) {
    throw fail("TIFF directory lacks ImageWidth/ImageLength");
  }
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_PLANARCONFIG, &planar);
  if (!TIFFGetField(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric)) {
    photometric = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  }
  detail::check_image_size(name, "TIFF", width, height);

  const bool grey = (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE);
  Image img;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.channels = grey ? 1 : 3;
  img.pixels.resize(img.size_bytes());

  // Exact path for the common 8-bit chunky strip layouts (what PIL and CoreNet write): copy the
  // first channels of each scanline, so an alpha channel is dropped without premultiplying.
  const bool direct = bps == 8 && planar == PLANARCONFIG_CONTIG && !TIFFIsTiled(tif.get()) &&
                      ((photometric == PHOTOMETRIC_RGB && spp >= 3) ||
                       (photometric == PHOTOMETRIC_MINISBLACK && spp >= 1));
  if (direct) {
    const tmsize_t line = TIFFScanlineSize(tif.get());
    if (line < static_cast<tmsize_t>(width) * spp) throw fail("TIFF scanline size is inconsistent");
    std::vector<uint8_t> buf(static_cast<size_t>(line));
    for (uint32_t y = 0; y < height; ++y) {
      if (TIFFReadScanline(tif.get(), buf.data(), y, 0) < 0) {
        throw fail(fmt::format("cannot read TIFF row {} of {}", y, height));
      }
      uint8_t* dst = img.pixels.data() + static_cast<size_t>(y) * width * img.channels;
      for (uint32_t x = 0; x < width; ++x) {
        std::memcpy(dst + x * img.channels, buf.data() + static_cast<size_t>(x) * spp,
                    img.channels);
      }
    }
    return img;
  }

  // Everything else (palette, 1-16 bit, YCbCr, tiles, planar, compressed): libtiff's RGBA
  // reader, which also applies palettes and MinIsWhite inversion.
  char emsg[1024] = {0};
  if (!TIFFRGBAImageOK(tif.get(), emsg)) throw fail(std::string("unsupported TIFF layout: ") + emsg);
  std::vector<uint32_t> rgba(static_cast<size_t>(width) * height);
  if (!TIFFReadRGBAImageOriented(tif.get(), width, height, rgba.data(), ORIENTATION_TOPLEFT, 1)) {
    throw fail("cannot decode TIFF pixels");
  }
  for (size_t i = 0; i < rgba.size(); ++i) {
    const uint32_t p = rgba[i];
    if (img.channels == 1) {
      img.pixels[i] = static_cast<uint8_t>(TIFFGetR(p));
    } else {
      img.pixels[3 * i] = static_cast<uint8_t>(TIFFGetR(p));
      img.pixels[3 * i + 1] = static_cast<uint8_t>(TIFFGetG(p));
      img.pixels[3 * i + 2] = static_cast<uint8_t>(TIFFGetB(p));
    }
  }
  return img;
}

}  // namespace byteformer
