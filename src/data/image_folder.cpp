#include "byteformer/data/image_folder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

namespace byteformer {

namespace fs = std::filesystem;

bool has_image_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* kExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff", ".webp"};
  return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

DatasetIndex scan_image_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw std::runtime_error(fmt::format("image folder {}: not a directory", root));
  DatasetIndex index;
  index.modality = Modality::kImage;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) index.classes.push_back(entry.path().filename().string());
  }
  std::sort(index.classes.begin(), index.classes.end());
  if (index.classes.empty())
    throw std::runtime_error(fmt::format("image folder {}: no class folders (expected root/<class>/<file>)", root));
  for (size_t c = 0; c < index.classes.size(); ++c) {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(root) / index.classes[c])) {
      if (entry.is_regular_file() && has_image_extension(entry.path().string()))
        files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      SampleRef s;
      s.file_bytes = static_cast<int64_t>(fs::file_size(f, ec));
      s.path = std::move(f);
      s.label = static_cast<int64_t>(c);
      index.samples.push_back(std::move(s));
    }
  }
  if (index.samples.empty()) throw std::runtime_error(fmt::format("image folder {}: no image files", root));
  index.description = fmt::format("image folder {} ({} classes, {} files)", root, index.classes.size(),
                                  index.samples.size());
  return index;
}

}  // namespace byteformer
