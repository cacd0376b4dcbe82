// A folder of class folders (torchvision's ImageFolder layout, as CoreNet's imagenet dataset
// reads it): root/<class>/<file>, files listed recursively, class index = the position of the
// folder name in sorted order. Every file under a class folder is either a sample or a named
// skip with its reason (DatasetIndex::skipped); a class left with no sample is an error.
//
//   FolderScan scan;
//   scan.modality = Modality::kBytes;          // any file
//   scan.val_fraction = 0.1;                   // hold out 10% of each class, seeded
//   scan.part = FolderPart::kValidation;
//   DatasetIndex val = scan_class_folders("/data/my_files", scan);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/data/dataset.h"

namespace byteformer {

/// Which files of a class folder a split built by a seeded hold-out keeps.
enum class FolderPart { kAll, kTrain, kValidation };

struct FolderScan {
  /// Which files are samples. kImage: the formats the image decoders read (JPEG, PNG, TIFF, BMP,
  /// PPM/PGM), known by extension or else by their first bytes; kAudio: WAV and MP3, the same
  /// way; kBytes: every file. Hidden files (a name starting with '.'), empty files and
  /// anything that is not a regular file are skipped in every mode.
  Modality modality = Modality::kImage;
  /// The classes in class-index order (a trained model's): every class folder must be one of
  /// them, and classes without a folder are allowed. Empty: the folder's own, sorted.
  std::vector<std::string> classes;
  /// With val_fraction in (0, 1): each class's files are ordered by a hash of the seed and
  /// their path under the class folder, and the first round(fraction x count) (at least one,
  /// and one short of all, when a class has two or more) form the validation part. Adding a
  /// file moves no other file between the parts.
  double val_fraction = 0.0;
  uint64_t split_seed = 0;
  FolderPart part = FolderPart::kAll;
};

/// Throws std::runtime_error naming `root` when it is missing or holds no class folders, and
/// naming the class when one has no usable file (with the reasons its files were skipped).
DatasetIndex scan_class_folders(const std::string& root, const FolderScan& scan);

/// scan_class_folders with the image files of every class folder.
DatasetIndex scan_image_folder(const std::string& root);

/// Why `path` is not a sample of `modality` (its first bytes are read when its extension does
/// not tell), or "" when it is one.
std::string why_not_a_sample(const std::string& path, Modality modality);

}  // namespace byteformer
