// ImageNet folder layout (torchvision ImageFolder, as CoreNet's imagenet dataset reads it):
// root/<class>/<file>, class index = position of the folder name in sorted order.
#pragma once
#include <string>

#include "byteformer/data/dataset.h"

namespace byteformer {

/// File name extensions taken as images (case-insensitive): jpg jpeg png bmp ppm pgm pnm tif
/// tiff webp. Files are listed recursively under each class folder, sorted by path.
bool has_image_extension(const std::string& path);

/// Throws std::runtime_error naming `root` when it is missing or holds no class folders.
DatasetIndex scan_image_folder(const std::string& root);

}  // namespace byteformer
