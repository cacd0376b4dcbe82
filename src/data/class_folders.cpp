#include "byteformer/data/class_folders.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "byteformer/codec/file_format.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool one_of(const std::string& ext, std::initializer_list<const char*> exts) {
  return std::any_of(exts.begin(), exts.end(), [&](const char* e) { return ext == e; });
}

// A 64-bit FNV-1a of the seed and the path, finished with splitmix64's mixer: the order of a
// class's files in a seeded hold-out, the same on every machine.
uint64_t split_key(uint64_t seed, const std::string& rel) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : rel) h = (h ^ c) * 1099511628211ULL;
  h += 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

const char* modality_files(Modality m) {
  switch (m) {
    case Modality::kImage: return "image";
    case Modality::kAudio: return "audio";
    case Modality::kBytes: return "";
  }
  return "";
}

}  // namespace

std::string why_not_a_sample(const std::string& path, Modality modality) {
  const fs::path p(path);
  if (p.filename().string().rfind('.', 0) == 0) return "hidden file";
  std::error_code ec;
  const auto status = fs::status(p, ec);
  if (ec) return "cannot stat: " + ec.message();
  if (!fs::is_regular_file(status)) return "not a regular file";
  const auto size = fs::file_size(p, ec);
  if (ec) return "cannot stat: " + ec.message();
  if (size == 0) return "empty file";
  if (modality == Modality::kBytes) return "";
  const std::string ext = lower_extension(p);
  if (modality == Modality::kImage && one_of(ext, {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff"}))
    return "";
  if (modality == Modality::kAudio && one_of(ext, {".wav", ".mp3"})) return "";
  std::array<uint8_t, 16> head{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open";
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto n = static_cast<size_t>(in.gcount());
  if (modality == Modality::kImage)
    return looks_like_image(head.data(), n) ? "" : "not an image the decoders read (JPEG, PNG, TIFF, BMP, PPM/PGM)";
  return looks_like_audio(head.data(), n) ? "" : "not audio the decoders read (WAV, MP3)";
}

DatasetIndex scan_class_folders(const std::string& root, const FolderScan& scan) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw std::runtime_error(fmt::format("class folders {}: not a directory", root));
  if (scan.val_fraction < 0 || scan.val_fraction >= 1)
    throw std::invalid_argument(fmt::format("class folders {}: validation fraction {} is not in [0, 1)", root,
                                            scan.val_fraction));
  DatasetIndex index;
  index.modality = scan.modality;
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind('.', 0) != 0) {
      found.push_back(name);
    } else {
      index.skipped.push_back({entry.path().string(), entry.is_directory()
                                                          ? "hidden folder"
                                                          : "outside any class folder (expected root/<class>/<file>)"});
    }
  }
  std::sort(found.begin(), found.end());
  if (found.empty())
    throw std::runtime_error(fmt::format("class folders {}: no class folders (expected root/<class>/<file>)", root));
  index.classes = scan.classes.empty() ? found : scan.classes;
  for (const auto& name : found) {
    if (std::find(index.classes.begin(), index.classes.end(), name) == index.classes.end())
      throw std::runtime_error(fmt::format("class folders {}: folder '{}' is not one of the model's {} classes", root,
                                           name, index.classes.size()));
  }

  for (const auto& name : found) {
    const fs::path dir = fs::path(root) / name;
    std::vector<std::string> files;  // relative to the class folder
    std::map<std::string, int64_t> skip_reasons;
    auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw std::runtime_error(fmt::format("class folders {}: cannot list {}: {}", root, dir.string(), ec.message()));
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) throw std::runtime_error(fmt::format("class folders {}: cannot list {}: {}", root, dir.string(), ec.message()));
      const fs::path& p = it->path();
      if (it->is_directory(ec)) {
        if (p.filename().string().rfind('.', 0) == 0) {
          index.skipped.push_back({p.string(), "hidden folder"});
          it.disable_recursion_pending();
        }
        continue;
      }
      const std::string why = why_not_a_sample(p.string(), scan.modality);
      if (why.empty()) {
        files.push_back(p.lexically_relative(dir).generic_string());
      } else {
        index.skipped.push_back({p.string(), why});
        ++skip_reasons[why];
      }
    }
    if (files.empty()) {
      std::string reasons;
      for (const auto& [why, n] : skip_reasons) reasons += fmt::format("{}{} {}", reasons.empty() ? "" : "; ", n, why);
      throw std::runtime_error(fmt::format("class folders {}: class '{}' has no usable {}file{}", root, name,
                                           scan.modality == Modality::kBytes ? "" : std::string(modality_files(scan.modality)) + " ",
                                           reasons.empty() ? " (the folder is empty)" : " (" + reasons + ")"));
    }
    std::sort(files.begin(), files.end());
    if (scan.val_fraction > 0 && scan.part != FolderPart::kAll) {
      const size_t n = files.size();
      size_t n_val = static_cast<size_t>(std::llround(scan.val_fraction * static_cast<double>(n)));
      if (n >= 2) n_val = std::clamp<size_t>(n_val, 1, n - 1);
      else n_val = 0;
      std::vector<std::pair<uint64_t, std::string>> keyed;
      for (auto& f : files) keyed.emplace_back(split_key(scan.split_seed, name + "/" + f), std::move(f));
      std::sort(keyed.begin(), keyed.end());
      files.clear();
      const size_t begin = scan.part == FolderPart::kValidation ? 0 : n_val;
      const size_t end = scan.part == FolderPart::kValidation ? n_val : n;
      for (size_t i = begin; i < end; ++i) files.push_back(std::move(keyed[i].second));
      std::sort(files.begin(), files.end());
    }
    const auto label = std::find(index.classes.begin(), index.classes.end(), name) - index.classes.begin();
    for (const auto& f : files) {
      SampleRef s;
      s.path = (dir / f).string();
      s.file_bytes = static_cast<int64_t>(fs::file_size(s.path, ec));
      s.label = static_cast<int64_t>(label);
      index.samples.push_back(std::move(s));
    }
  }
  const size_t skipped = index.skipped.size();
  std::string part;
  if (scan.val_fraction > 0 && scan.part == FolderPart::kTrain)
    part = fmt::format(", the {:g}% not held out for validation", 100.0 * (1.0 - scan.val_fraction));
  if (scan.val_fraction > 0 && scan.part == FolderPart::kValidation)
    part = fmt::format(", the {:g}% held out for validation (seed {})", 100.0 * scan.val_fraction, scan.split_seed);
  index.description = fmt::format("class folders {} ({} classes, {} files{}{})", root, index.classes.size(),
                                  index.samples.size(), part,
                                  skipped > 0 ? fmt::format("; {} skipped", skipped) : std::string());
  return index;
}

DatasetIndex scan_image_folder(const std::string& root) {
  FolderScan scan;
  scan.modality = Modality::kImage;
  return scan_class_folders(root, scan);
}

}  // namespace byteformer
