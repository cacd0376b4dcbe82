// Image resizing that reproduces Pillow 9.4's `Image.resize` (libImaging/Resample.c) bit for bit
// on 8-bit images: a separable convolution whose filter support widens by the scale factor when
// downsampling, coefficients normalised to 22-bit fixed point, horizontal pass then vertical.
// torchvision's PIL path (`F.resize`) calls exactly this, so CoreNet's Resize and
// RandomResizedCrop produce these pixels.
#pragma once
#include <string>

#include "byteformer/codec/image.h"

namespace byteformer {

/// CoreNet's interpolation names (`image_augmentation.*.interpolation`).
enum class Interpolation { kNearest, kBilinear, kBicubic, kBox, kHamming, kLanczos };

/// Parses nearest, bilinear, bicubic (or cubic), box, hamming, lanczos; throws naming `key`.
Interpolation parse_interpolation(const std::string& name,
                                  const std::string& key = "interpolation");
std::string to_string(Interpolation interpolation);

/// PIL `img.resize((width, height), filter)`. Same size: a copy.
/// Throws std::invalid_argument for a non-positive size or an empty image.
Image resize(const Image& image, int width, int height, Interpolation interpolation);

/// CoreNet's `_resize_fn` with an int size: unchanged when the shorter side already equals
/// `size`; otherwise the shorter side becomes `size` and the other int(size * long / short).
Image resize_shorter_side(const Image& image, int size, Interpolation interpolation);

}  // namespace byteformer
