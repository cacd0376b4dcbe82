// The samples of a split: file paths (or background-noise slices) and their class indices.
// Built from a folder of class folders (class_folders.h) or Speech Commands v2
// (speech_commands.h); the byte pipeline (byte_pipeline.h) turns one into model input.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace byteformer {

class Config;

enum class Split { kTrain, kValidation, kTest };
std::string to_string(Split split);

/// One sample: a file, or (audio) a slice of a longer background-noise file.
struct SampleRef {
  std::string path;
  int64_t label = 0;
  /// Audio only: first frame of a `silence` slice cut out of `path`; -1 = the whole file.
  int64_t offset = -1;
  /// Size of the file in bytes, a proxy for the encoded length (length bucketing).
  int64_t file_bytes = 0;
};

/// What the files are: images and audio are decoded and re-encoded by the pipeline (or read
/// as they are with pil_save / torchaudio_save off); kBytes are any files, read as byte
/// windows and never decoded.
enum class Modality { kImage, kAudio, kBytes };
/// "image", "audio", "bytes".
std::string to_string(Modality modality);
/// The inverse of to_string; throws std::invalid_argument naming the text.
Modality parse_modality(const std::string& text);

/// A file under a dataset root that is not a sample, and why (hidden, empty, not an image...).
struct SkippedFile {
  std::string path;
  std::string reason;
};

/// The samples of one split of a dataset.
struct DatasetIndex {
  Modality modality = Modality::kImage;
  std::vector<std::string> classes;  // class index -> name
  std::vector<SampleRef> samples;
  /// Audio: the background-noise clips (`_background_noise_/*.wav`) for noise augmentation.
  std::vector<std::string> noise_files;
  /// Files under the root that are not samples, each with its reason (class folders).
  std::vector<SkippedFile> skipped;
  /// How the index was built, for logs (e.g. "speech_commands_v2 raw layout, train").
  std::string description;
  size_t size() const { return samples.size(); }
};

/// Reads `dataset.name` / `dataset.category` and the root of `split` (`dataset.root_train`,
/// `dataset.root_val`, `dataset.root_test`; Speech Commands' test split falls back to root_val,
/// which holds testing_list.txt) and builds the index.
/// With `dataset.val_fraction` set (and no root_val), training and validation are the two
/// parts of root_train's class folders, held out per class with `dataset.split_seed`.
/// `seed` fixes the random parts (Speech Commands' unknown subset and silence slices).
/// Throws std::runtime_error naming the key and the path when the root is missing or empty.
/// `classes`, when given, are the classes in class-index order (the training split's, a trained
/// model's): a class-folder split may then hold some of them only (a validation folder with no
/// file of a rare class); a folder that is not one of them is an error.
DatasetIndex load_dataset(const Config& config, Split split, uint64_t seed,
                          const std::vector<std::string>& classes = {});

/// The config's modality: audio for speech_commands_v2 or category audio_classification,
/// bytes for category file_classification, else image.
Modality config_modality(const Config& config);

}  // namespace byteformer
