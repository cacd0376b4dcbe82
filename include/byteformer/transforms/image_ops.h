// Pixel operations on 8-bit images that reproduce Pillow 9.4, which is what torchvision's PIL
// path (and so CoreNet's image_pil transforms) runs: crop, flip, affine warps
// (libImaging/Geometry.c), ImageEnhance (Blend.c, Filter.c), ImageOps LUT operations.
// Images are HWC with 1 (L) or 3 (RGB) channels.
#pragma once
#include <array>
#include <cstdint>

#include "byteformer/codec/image.h"
#include "byteformer/transforms/resample.h"

namespace byteformer {

/// A blank (zero) image; throws std::invalid_argument for a negative size or channels not 1/3.
Image make_image(int width, int height, int channels);
/// Throws std::invalid_argument naming `where` unless the image is well formed and non-empty.
void check_image(const Image& image, const char* where);

/// PIL `img.crop((left, top, left + width, top + height))`: areas outside the image are zero.
Image crop(const Image& image, int top, int left, int height, int width);
/// CoreNet CenterCrop: top = (H - height) // 2, left = (W - width) // 2 (floor division).
Image center_crop(const Image& image, int height, int width);
/// Mirror left-right.
Image hflip(const Image& image);

/// PIL `Image.blend(degenerate, image, factor)` with `factor` as a C float: the ImageEnhance
/// primitive (interpolation truncates, extrapolation clips).
Image blend(const Image& degenerate, const Image& image, float factor);
/// PIL convert("L") (ITU-R 601-2 luma, 16-bit fixed point), as a 1-channel image.
Image to_grayscale(const Image& image);
/// ImageEnhance.Brightness / Color / Contrast / Sharpness with the given factor.
Image adjust_brightness(const Image& image, double factor);
Image adjust_saturation(const Image& image, double factor);
Image adjust_contrast(const Image& image, double factor);
Image adjust_sharpness(const Image& image, double factor);
/// ImageOps.posterize: keep the top `bits` bits (0..8).
Image posterize(const Image& image, int bits);
/// ImageOps.solarize: v < threshold ? v : 255 - v.
Image solarize(const Image& image, double threshold);
/// ImageOps.autocontrast (cutoff 0): per channel, stretch [min, max] to [0, 255].
Image autocontrast(const Image& image);
/// ImageOps.equalize: per-channel histogram equalisation.
Image equalize(const Image& image);

/// PIL `img.transform(img.size, AFFINE, matrix, resample)` with fill 0: output pixel (x, y)
/// samples the input at matrix * (x + 0.5, y + 0.5). Nearest and bilinear only.
Image affine_transform(const Image& image, const std::array<double, 6>& matrix,
                       Interpolation interpolation);
/// torchvision `F.affine` on a PIL image (inverse matrix as `_get_inverse_affine_matrix`);
/// angle and shear in degrees; center in pixels, or (W/2, H/2) when `center` is null.
Image affine(const Image& image, double angle, std::array<double, 2> translate, double scale,
             std::array<double, 2> shear, Interpolation interpolation,
             const std::array<double, 2>* center = nullptr);
/// PIL `img.rotate(angle, resample)` (counter-clockwise degrees, about the centre, same size).
Image rotate(const Image& image, double angle, Interpolation interpolation);

}  // namespace byteformer
