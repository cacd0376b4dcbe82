#include "byteformer/transforms/image_ops.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace byteformer {
namespace {

inline size_t index_of(const Image& im, int x, int y) {
  return (static_cast<size_t>(y) * im.width + x) * im.channels;
}

Image same_shape(const Image& image) { return make_image(image.width, image.height, image.channels); }

// ImageOps._lut / Image.point with one 256-entry table per channel (values already clipped).
Image apply_lut(const Image& image, const std::vector<std::array<uint8_t, 256>>& luts) {
  Image out = image;
  const int ch = image.channels;
  for (size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = luts[i % ch][out.pixels[i]];
  return out;
}

std::vector<std::array<int64_t, 256>> histograms(const Image& image) {
  std::vector<std::array<int64_t, 256>> h(static_cast<size_t>(image.channels));
  for (auto& a : h) a.fill(0);
  const int ch = image.channels;
  for (size_t i = 0; i < image.pixels.size(); ++i) ++h[i % ch][image.pixels[i]];
  return h;
}

// Python's round(x, 15): the correctly rounded 15-decimal value (glibc printf rounds exactly).
double round15(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15f", x);
  return std::strtod(buf, nullptr);
}

// Python's float % float for a positive divisor.
double py_mod(double x, double m) {
  double r = std::fmod(x, m);
  if (r != 0.0) {
    if ((m < 0) != (r < 0)) r += m;
  } else {
    r = std::copysign(0.0, m);
  }
  return r;
}

constexpr double kDegToRad = M_PI / 180.0;  // CPython's math.radians factor
constexpr double kRadToDeg = 180.0 / M_PI;  // CPython's math.degrees factor

}  // namespace

Image make_image(int width, int height, int channels) {
  if (width < 0 || height < 0 || (channels != 1 && channels != 3)) {
    throw std::invalid_argument("make_image: expected width, height >= 0 and 1 or 3 channels, "
                                "got " + std::to_string(width) + "x" + std::to_string(height) +
                                "x" + std::to_string(channels));
  }
  Image im;
  im.width = width;
  im.height = height;
  im.channels = channels;
  im.pixels.assign(im.size_bytes(), 0);
  return im;
}

void check_image(const Image& image, const char* where) {
  if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
      image.pixels.size() != image.size_bytes()) {
    throw std::invalid_argument(std::string(where) +
                                ": expected a non-empty 1- or 3-channel image with "
                                "width*height*channels pixels, got " +
                                std::to_string(image.width) + "x" + std::to_string(image.height) +
                                "x" + std::to_string(image.channels) + " with " +
                                std::to_string(image.pixels.size()) + " bytes");
  }
}

Image crop(const Image& image, int top, int left, int height, int width) {
  check_image(image, "crop");
  if (height <= 0 || width <= 0) {
    throw std::invalid_argument("crop: expected a positive crop size, got " +
                                std::to_string(height) + "x" + std::to_string(width));
  }
  Image out = make_image(width, height, image.channels);
  const int ch = image.channels;
  for (int y = 0; y < height; ++y) {
    const int sy = top + y;
    if (sy < 0 || sy >= image.height) continue;
    for (int x = 0; x < width; ++x) {
      const int sx = left + x;
      if (sx < 0 || sx >= image.width) continue;
      for (int b = 0; b < ch; ++b) out.pixels[index_of(out, x, y) + b] = image.pixels[index_of(image, sx, sy) + b];
    }
  }
  return out;
}

Image center_crop(const Image& image, int height, int width) {
  check_image(image, "center_crop");
  auto floor_div2 = [](int v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); };
  return crop(image, floor_div2(image.height - height), floor_div2(image.width - width), height,
              width);
}

Image hflip(const Image& image) {
  Image out = image;
  const int ch = image.channels;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      for (int b = 0; b < ch; ++b) {
        out.pixels[index_of(out, x, y) + b] = image.pixels[index_of(image, image.width - 1 - x, y) + b];
      }
    }
  }
  return out;
}

Image blend(const Image& degenerate, const Image& image, float alpha) {
  if (degenerate.width != image.width || degenerate.height != image.height ||
      degenerate.channels != image.channels) {
    throw std::invalid_argument("blend: images differ in size or channels");
  }
  if (alpha == 0.0f) return degenerate;
  if (alpha == 1.0f) return image;
  Image out = image;
  const size_t n = image.pixels.size();
  if (alpha >= 0 && alpha <= 1.0) {
    for (size_t i = 0; i < n; ++i) {
      const int a = degenerate.pixels[i], b = image.pixels[i];
      out.pixels[i] = static_cast<uint8_t>(static_cast<float>(a) + alpha * static_cast<float>(b - a));
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const int a = degenerate.pixels[i], b = image.pixels[i];
      const float t = static_cast<float>(a) + alpha * static_cast<float>(b - a);
      out.pixels[i] = t <= 0.0f ? 0 : (t >= 255.0f ? 255 : static_cast<uint8_t>(t));
    }
  }
  return out;
}

Image to_grayscale(const Image& image) {
  check_image(image, "to_grayscale");
  if (image.channels == 1) return image;
  Image out = make_image(image.width, image.height, 1);
  for (size_t i = 0; i < out.pixels.size(); ++i) {
    const uint8_t* p = &image.pixels[i * 3];
    out.pixels[i] = static_cast<uint8_t>((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
  }
  return out;
}

Image adjust_brightness(const Image& image, double factor) {
  check_image(image, "adjust_brightness");
  return blend(same_shape(image), image, static_cast<float>(factor));
}

Image adjust_saturation(const Image& image, double factor) {
  check_image(image, "adjust_saturation");
  const Image grey = to_grayscale(image);
  Image degenerate = same_shape(image);
  for (size_t i = 0; i < degenerate.pixels.size(); ++i) {
    degenerate.pixels[i] = grey.pixels[i / image.channels];
  }
  return blend(degenerate, image, static_cast<float>(factor));
}

Image adjust_contrast(const Image& image, double factor) {
  check_image(image, "adjust_contrast");
  const Image grey = to_grayscale(image);
  int64_t sum = 0;
  for (uint8_t v : grey.pixels) sum += v;
  const double mean = static_cast<double>(sum) / static_cast<double>(grey.pixels.size());
  Image degenerate = same_shape(image);
  std::fill(degenerate.pixels.begin(), degenerate.pixels.end(),
            static_cast<uint8_t>(static_cast<int>(mean + 0.5)));
  return blend(degenerate, image, static_cast<float>(factor));
}

Image adjust_sharpness(const Image& image, double factor) {
  check_image(image, "adjust_sharpness");
  // ImageFilter.SMOOTH: 3x3 kernel (1 1 1 / 1 5 1 / 1 1 1) / 13 in float, borders copied,
  // rounding by +0.5 before truncation (libImaging/Filter.c ImagingFilter3x3).
  Image smooth = image;
  if (image.width >= 3 && image.height >= 3) {
    const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
    const float krow[3][3] = {{k1, k1, k1}, {k1, k5, k1}, {k1, k1, k1}};
    const int ch = image.channels;
    for (int y = 1; y < image.height - 1; ++y) {
      for (int x = 1; x < image.width - 1; ++x) {
        for (int b = 0; b < ch; ++b) {
          float ss = 0.5f;
          // Rows y+1, y, y-1 with kernel rows 0, 1, 2, as Filter.c sums them.
          for (int r = 0; r < 3; ++r) {
            const int yy = y + 1 - r;
            const float a = image.pixels[index_of(image, x - 1, yy) + b];
            const float c = image.pixels[index_of(image, x, yy) + b];
            const float d = image.pixels[index_of(image, x + 1, yy) + b];
            ss += a * krow[r][0] + c * krow[r][1] + d * krow[r][2];
          }
          smooth.pixels[index_of(smooth, x, y) + b] =
              ss <= 0.0f ? 0 : (ss >= 255.0f ? 255 : static_cast<uint8_t>(ss));
        }
      }
    }
  }
  return blend(smooth, image, static_cast<float>(factor));
}

Image posterize(const Image& image, int bits) {
  check_image(image, "posterize");
  if (bits < 0 || bits > 8) {
    throw std::invalid_argument("posterize: expected bits in 0..8, got " + std::to_string(bits));
  }
  const int mask = ~((1 << (8 - bits)) - 1);
  std::array<uint8_t, 256> lut{};
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i & mask);
  return apply_lut(image, std::vector<std::array<uint8_t, 256>>(image.channels, lut));
}

Image solarize(const Image& image, double threshold) {
  check_image(image, "solarize");
  std::array<uint8_t, 256> lut{};
  for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i < threshold ? i : 255 - i);
  return apply_lut(image, std::vector<std::array<uint8_t, 256>>(image.channels, lut));
}

Image autocontrast(const Image& image) {
  check_image(image, "autocontrast");
  const auto hists = histograms(image);
  std::vector<std::array<uint8_t, 256>> luts;
  for (const auto& h : hists) {
    int lo = 0, hi = 255;
    while (lo < 255 && h[lo] == 0) ++lo;
    while (hi > 0 && h[hi] == 0) --hi;
    std::array<uint8_t, 256> lut{};
    if (hi <= lo) {
      for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i);
    } else {
      const double scale = 255.0 / (hi - lo);
      const double offset = -lo * scale;
      for (int i = 0; i < 256; ++i) {
        int v = static_cast<int>(i * scale + offset);  // Python int(): toward zero
        lut[i] = static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
      }
    }
    luts.push_back(lut);
  }
  return apply_lut(image, luts);
}

Image equalize(const Image& image) {
  check_image(image, "equalize");
  const auto hists = histograms(image);
  std::vector<std::array<uint8_t, 256>> luts;
  for (const auto& h : hists) {
    std::array<uint8_t, 256> lut{};
    for (int i = 0; i < 256; ++i) lut[i] = static_cast<uint8_t>(i);
    int64_t total = 0, last = 0, nonzero = 0;
    for (int i = 0; i < 256; ++i) {
      if (h[i]) {
        total += h[i];
        last = h[i];
        ++nonzero;
      }
    }
    if (nonzero > 1) {
      const int64_t step = (total - last) / 255;
      if (step) {
        int64_t n = step / 2;
        for (int i = 0; i < 256; ++i) {
          const int64_t v = n / step;  // Image.point clips table entries to 0..255
          lut[i] = static_cast<uint8_t>(v > 255 ? 255 : v);
          n += h[i];
        }
      }
    }
    luts.push_back(lut);
  }
  return apply_lut(image, luts);
}

Image affine_transform(const Image& image, const std::array<double, 6>& a,
                       Interpolation interpolation) {
  check_image(image, "affine_transform");
  Image out = same_shape(image);
  const int W = image.width, H = image.height, ch = image.channels;
  if (interpolation == Interpolation::kBilinear) {
    // ImagingGenericTransform + affine_transform + bilinear_filter (Geometry.c).
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        const double xi = x + 0.5, yi = y + 0.5;
        double xin = a[0] * xi + a[1] * yi + a[2];
        double yin = a[3] * xi + a[4] * yi + a[5];
        if (xin < 0.0 || xin >= W || yin < 0.0 || yin >= H) continue;  // fill 0
        xin -= 0.5;
        yin -= 0.5;
        const int ix = xin < 0.0 ? static_cast<int>(std::floor(xin)) : static_cast<int>(xin);
        const int iy = yin < 0.0 ? static_cast<int>(std::floor(yin)) : static_cast<int>(yin);
        const double dx = xin - ix, dy = yin - iy;
        auto clip = [](int v, int n) { return v < 0 ? 0 : (v < n ? v : n - 1); };
        const int x0 = clip(ix, W), x1 = clip(ix + 1, W), y0 = clip(iy, H);
        const bool has_y1 = iy + 1 >= 0 && iy + 1 < H;
        for (int b = 0; b < ch; ++b) {
          const int p00 = image.pixels[index_of(image, x0, y0) + b];
          const int p01 = image.pixels[index_of(image, x1, y0) + b];
          double v1 = p00 + (p01 - p00) * dx;
          double v2 = v1;
          if (has_y1) {
            const int p10 = image.pixels[index_of(image, x0, iy + 1) + b];
            const int p11 = image.pixels[index_of(image, x1, iy + 1) + b];
            v2 = p10 + (p11 - p10) * dx;
          }
          v1 = v1 + (v2 - v1) * dy;
          out.pixels[index_of(out, x, y) + b] = static_cast<uint8_t>(v1);
        }
      }
    }
    return out;
  }
  if (interpolation == Interpolation::kNearest) {
    // ImagingTransformAffine's nearest paths: pure scaling, 16.16 fixed point when the
    // corners fit, else floating point.
    auto coord = [](double v) { return v < 0.0 ? -1 : static_cast<int>(v); };
    auto copy_pixel = [&](int x, int y, int xin, int yin) {
      for (int b = 0; b < ch; ++b) {
        out.pixels[index_of(out, x, y) + b] = image.pixels[index_of(image, xin, yin) + b];
      }
    };
    if (a[1] == 0 && a[3] == 0) {  // ImagingScaleAffine
      std::vector<int> xintab(static_cast<size_t>(W), -1);
      double xo = a[2] + a[0] * 0.5;
      for (int x = 0; x < W; ++x, xo += a[0]) {
        const int xin = coord(xo);
        if (xin >= 0 && xin < W) xintab[x] = xin;
      }
      double yo = a[5] + a[4] * 0.5;
      for (int y = 0; y < H; ++y, yo += a[4]) {
        const int yin = coord(yo);
        if (yin < 0 || yin >= H) continue;
        for (int x = 0; x < W; ++x) {
          if (xintab[x] >= 0) copy_pixel(x, y, xintab[x], yin);
        }
      }
      return out;
    }
    auto fits = [&](int x, int y) {
      return std::fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 &&
             std::fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
    };
    if (fits(0, 0) && fits(W, H) && fits(0, H) && fits(W, 0)) {  // affine_fixed
      auto fix = [](double v) {
        v = v * 65536.0 + 0.5;
        return v < 0.0 ? static_cast<int>(std::floor(v)) : static_cast<int>(v);
      };
      const int a0 = fix(a[0]), a1 = fix(a[1]), a3 = fix(a[3]), a4 = fix(a[4]);
      int a2 = fix(a[2] + a[0] * 0.5 + a[1] * 0.5);
      int a5 = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
      for (int y = 0; y < H; ++y, a2 += a1, a5 += a4) {
        int xx = a2, yy = a5;
        for (int x = 0; x < W; ++x, xx += a0, yy += a3) {
          const int xin = xx >> 16, yin = yy >> 16;
          if (xin >= 0 && xin < W && yin >= 0 && yin < H) copy_pixel(x, y, xin, yin);
        }
      }
      return out;
    }
    double xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
    double yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
    for (int y = 0; y < H; ++y, xo += a[1], yo += a[4]) {
      double xx = xo, yy = yo;
      for (int x = 0; x < W; ++x, xx += a[0], yy += a[3]) {
        const int xin = coord(xx), yin = coord(yy);
        if (xin >= 0 && xin < W && yin >= 0 && yin < H) copy_pixel(x, y, xin, yin);
      }
    }
    return out;
  }
  throw std::invalid_argument("affine_transform: interpolation must be nearest or bilinear, got " +
                              to_string(interpolation));
}

Image affine(const Image& image, double angle, std::array<double, 2> translate, double scale,
             std::array<double, 2> shear, Interpolation interpolation,
             const std::array<double, 2>* center) {
  check_image(image, "affine");
  if (!(scale > 0.0)) {
    throw std::invalid_argument("affine: expected a positive scale, got " + std::to_string(scale));
  }
  const double cx = center ? (*center)[0] : image.width * 0.5;
  const double cy = center ? (*center)[1] : image.height * 0.5;
  const double tx = translate[0], ty = translate[1];
  // torchvision _get_inverse_affine_matrix, operation for operation.
  const double rot = kDegToRad * angle;
  const double sx = kDegToRad * shear[0];
  const double sy = kDegToRad * shear[1];
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  std::array<double, 6> m = {d, -b, 0.0, -c, a, 0.0};
  for (double& v : m) v = v / scale;
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return affine_transform(image, m, interpolation);
}

Image rotate(const Image& image, double angle, Interpolation interpolation) {
  check_image(image, "rotate");
  angle = py_mod(angle, 360.0);
  const int W = image.width, H = image.height, ch = image.channels;
  if (angle == 0.0) return image;
  if (angle == 180.0 || ((angle == 90.0 || angle == 270.0) && W == H)) {
    // PIL transposes exactly for these angles.
    Image out = image;
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        int sx, sy;
        if (angle == 180.0) {
          sx = W - 1 - x;
          sy = H - 1 - y;
        } else if (angle == 90.0) {  // counter-clockwise
          sx = W - 1 - y;
          sy = x;
        } else {
          sx = y;
          sy = H - 1 - x;
        }
        for (int b = 0; b < ch; ++b) out.pixels[index_of(out, x, y) + b] = image.pixels[index_of(image, sx, sy) + b];
      }
    }
    return out;
  }
  const double cx = W / 2.0, cy = H / 2.0;
  const double r = -(kDegToRad * angle);
  std::array<double, 6> m = {round15(std::cos(r)), round15(std::sin(r)), 0.0,
                             round15(-std::sin(r)), round15(std::cos(r)), 0.0};
  const double x = -cx, y = -cy;
  const double m2 = m[0] * x + m[1] * y + m[2];
  const double m5 = m[3] * x + m[4] * y + m[5];
  m[2] = m2 + cx;
  m[5] = m5 + cy;
  return affine_transform(image, m, interpolation);
}

}  // namespace byteformer
