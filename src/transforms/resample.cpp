#include "byteformer/transforms/resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "transforms/option_values.h"

namespace byteformer {
namespace {

// Filters of libImaging/Resample.c, with their supports.
double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }
double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}
double hamming_filter(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * M_PI;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x = x * M_PI;
  return std::sin(x) / x;
}
double lanczos_filter(double x) {
  return (-3.0 <= x && x < 3.0) ? sinc_filter(x) * sinc_filter(x / 3) : 0.0;
}

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_for(Interpolation interpolation) {
  switch (interpolation) {
    case Interpolation::kBox: return {box_filter, 0.5};
    case Interpolation::kBilinear: return {bilinear_filter, 1.0};
    case Interpolation::kHamming: return {hamming_filter, 1.0};
    case Interpolation::kBicubic: return {bicubic_filter, 2.0};
    case Interpolation::kLanczos: return {lanczos_filter, 3.0};
    case Interpolation::kNearest: break;
  }
  throw std::logic_error("filter_for: nearest has no convolution filter");
}

constexpr int kPrecisionBits = 32 - 8 - 2;

// Per output index: first input index, tap count, and fixed-point coefficients.
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;     // (out_size, 2): xmin, count
  std::vector<int32_t> kk;     // (out_size, ksize)
};

// precompute_coeffs + normalize_coeffs_8bpc of Resample.c, for box (0, in_size).
Coeffs precompute_coeffs(int in_size, int out_size, const Filter& filter) {
  const float in0 = 0.0f, in1 = static_cast<float>(in_size);
  double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = filter.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.kk.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(static_cast<size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      const double w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = k[x] * (1 << kPrecisionBits);
      c.kk[static_cast<size_t>(xx) * c.ksize + x] =
          k[x] < 0 ? static_cast<int32_t>(-0.5 + v) : static_cast<int32_t>(0.5 + v);
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  const int32_t s = v >> kPrecisionBits;  // arithmetic shift: floor, as PIL's lookup table
  return static_cast<uint8_t>(s < 0 ? 0 : (s > 255 ? 255 : s));
}

// Horizontal pass over rows [row0, row0 + rows) of `in`.
Image resample_horizontal(const Image& in, int out_w, int row0, int rows, const Coeffs& c) {
  Image out;
  out.width = out_w;
  out.height = rows;
  out.channels = in.channels;
  out.pixels.resize(out.size_bytes());
  const int ch = in.channels;
  for (int yy = 0; yy < rows; ++yy) {
    const uint8_t* src = in.pixels.data() + static_cast<size_t>(yy + row0) * in.width * ch;
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(yy) * out_w * ch;
    for (int xx = 0; xx < out_w; ++xx) {
      const int xmin = c.bounds[xx * 2], xmax = c.bounds[xx * 2 + 1];
      const int32_t* k = &c.kk[static_cast<size_t>(xx) * c.ksize];
      for (int b = 0; b < ch; ++b) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < xmax; ++x) ss += src[(x + xmin) * ch + b] * k[x];
        dst[xx * ch + b] = clip8(ss);
      }
    }
  }
  return out;
}

Image resample_vertical(const Image& in, int out_h, const Coeffs& c, int row_offset) {
  Image out;
  out.width = in.width;
  out.height = out_h;
  out.channels = in.channels;
  out.pixels.resize(out.size_bytes());
  const size_t stride = static_cast<size_t>(in.width) * in.channels;
  for (int yy = 0; yy < out_h; ++yy) {
    const int ymin = c.bounds[yy * 2] - row_offset, ymax = c.bounds[yy * 2 + 1];
    const int32_t* k = &c.kk[static_cast<size_t>(yy) * c.ksize];
    uint8_t* dst = out.pixels.data() + yy * stride;
    for (size_t i = 0; i < stride; ++i) {
      int32_t ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < ymax; ++y) ss += in.pixels[(y + ymin) * stride + i] * k[y];
      dst[i] = clip8(ss);
    }
  }
  return out;
}

// PIL's NEAREST resize: ImagingScaleAffine with a = (in/out, 0, 0, 0, in/out, 0).
Image resize_nearest(const Image& in, int w, int h) {
  const double a0 = static_cast<double>(in.width) / w;
  const double a4 = static_cast<double>(in.height) / h;
  auto coord = [](double v) { return v < 0.0 ? -1 : static_cast<int>(v); };
  std::vector<int> xin(static_cast<size_t>(w), -1);
  double xo = a0 * 0.5;
  for (int x = 0; x < w; ++x, xo += a0) {
    const int xi = coord(xo);
    if (xi >= 0 && xi < in.width) xin[x] = xi;
  }
  Image out;
  out.width = w;
  out.height = h;
  out.channels = in.channels;
  out.pixels.assign(out.size_bytes(), 0);
  double yo = a4 * 0.5;
  const int ch = in.channels;
  for (int y = 0; y < h; ++y, yo += a4) {
    const int yi = coord(yo);
    if (yi < 0 || yi >= in.height) continue;
    for (int x = 0; x < w; ++x) {
      if (xin[x] < 0) continue;
      for (int b = 0; b < ch; ++b) {
        out.pixels[(static_cast<size_t>(y) * w + x) * ch + b] =
            in.pixels[(static_cast<size_t>(yi) * in.width + xin[x]) * ch + b];
      }
    }
  }
  return out;
}

}  // namespace

Interpolation parse_interpolation(const std::string& name, const std::string& key) {
  if (name == "nearest") return Interpolation::kNearest;
  if (name == "bilinear") return Interpolation::kBilinear;
  if (name == "bicubic" || name == "cubic") return Interpolation::kBicubic;
  if (name == "box") return Interpolation::kBox;
  if (name == "hamming") return Interpolation::kHamming;
  if (name == "lanczos") return Interpolation::kLanczos;
  detail::throw_bad_value(key, name, "one of nearest, bilinear, bicubic, cubic, box, hamming, lanczos");
}

std::string to_string(Interpolation interpolation) {
  switch (interpolation) {
    case Interpolation::kNearest: return "nearest";
    case Interpolation::kBilinear: return "bilinear";
    case Interpolation::kBicubic: return "bicubic";
    case Interpolation::kBox: return "box";
    case Interpolation::kHamming: return "hamming";
    case Interpolation::kLanczos: return "lanczos";
  }
  return "?";
}

Image resize(const Image& image, int width, int height, Interpolation interpolation) {
  if (width <= 0 || height <= 0) {
    throw std::invalid_argument("resize: expected a positive output size, got " +
                                std::to_string(width) + "x" + std::to_string(height));
  }
  if (image.width <= 0 || image.height <= 0 || image.pixels.size() != image.size_bytes()) {
    throw std::invalid_argument("resize: expected a non-empty image with width*height*channels "
                                "pixels, got " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + "x" +
                                std::to_string(image.channels));
  }
  if (width == image.width && height == image.height) return image;
  if (interpolation == Interpolation::kNearest) return resize_nearest(image, width, height);

  const Filter filter = filter_for(interpolation);
  const bool need_h = width != image.width;
  const bool need_v = height != image.height;
  const Coeffs ch = precompute_coeffs(image.width, width, filter);
  const Coeffs cv = precompute_coeffs(image.height, height, filter);
  // Rows the vertical pass reads; the horizontal pass computes only those.
  const int ybox_first = cv.bounds[0];
  const int ybox_last = cv.bounds[height * 2 - 2] + cv.bounds[height * 2 - 1];
  if (!need_h) return resample_vertical(image, height, cv, 0);
  Image tmp = resample_horizontal(image, width, ybox_first, ybox_last - ybox_first, ch);
  if (!need_v) return tmp;
  return resample_vertical(tmp, height, cv, ybox_first);
}

Image resize_shorter_side(const Image& image, int size, Interpolation interpolation) {
  if (size <= 0) {
    throw std::invalid_argument("resize_shorter_side: expected a positive size, got " +
                                std::to_string(size));
  }
  const int w = image.width, h = image.height;
  if ((w <= h && w == size) || (h <= w && h == size)) return image;
  int out_w, out_h;
  if (w < h) {
    out_w = size;
    out_h = static_cast<int>(static_cast<double>(static_cast<int64_t>(size) * h) / w);
  } else {
    out_h = size;
    out_w = static_cast<int>(static_cast<double>(static_cast<int64_t>(size) * w) / h);
  }
  return resize(image, out_w, out_h, interpolation);
}

}  // namespace byteformer
