#include "byteformer/data/dataset.h"

#include <fmt/format.h>

#include <stdexcept>

#include "byteformer/data/class_folders.h"
#include "byteformer/data/speech_commands.h"
#include "byteformer/io/config.h"

namespace byteformer {

std::string to_string(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kValidation: return "validation";
    case Split::kTest: return "test";
  }
  return "?";
}

std::string to_string(Modality modality) {
  switch (modality) {
    case Modality::kImage: return "image";
    case Modality::kAudio: return "audio";
    case Modality::kBytes: return "bytes";
  }
  return "?";
}

Modality parse_modality(const std::string& text) {
  if (text == "image") return Modality::kImage;
  if (text == "audio") return Modality::kAudio;
  if (text == "bytes") return Modality::kBytes;
  throw std::invalid_argument(fmt::format("modality '{}': expected image, audio or bytes", text));
}

Modality config_modality(const Config& config) {
  const std::string category = config.get_string("dataset.category", "");
  if (config.get_string("dataset.name", "") == "speech_commands_v2" || category == "audio_classification")
    return Modality::kAudio;
  return category == "file_classification" ? Modality::kBytes : Modality::kImage;
}

DatasetIndex load_dataset(const Config& config, Split split, uint64_t seed, const std::vector<std::string>& classes) {
  const bool held_out = config.is_set("dataset.val_fraction");
  std::string key = split == Split::kTrain || (held_out && split == Split::kValidation) ? "dataset.root_train"
                                                                                        : "dataset.root_val";
  if (split == Split::kTest && config.is_set("dataset.root_test")) key = "dataset.root_test";
  // Speech Commands keeps its test clips in the validation root (testing_list.txt); a folder
  // of class folders without dataset.root_test has no test split.
  const bool speech_commands = config.get_string("dataset.name", "") == "speech_commands_v2";
  if (split == Split::kTest && key != "dataset.root_test" && !speech_commands)
    throw std::runtime_error(fmt::format("config {}: no test split: dataset.root_test is not set", config.path()));
  const std::string root = config.get_string(key, "");
  if (root.empty()) throw std::runtime_error(fmt::format("config {}: '{}' is not set", config.path(), key));
  try {
    if (speech_commands) return load_speech_commands(root, split, seed);
    FolderScan scan;
    scan.modality = config_modality(config);
    scan.classes = classes;
    if (held_out && key == "dataset.root_train") {
      if (config.is_set("dataset.root_val"))
        throw std::invalid_argument(fmt::format("config {}: dataset.val_fraction and dataset.root_val are both set: "
                                                "hold out part of root_train, or name a validation folder, not both",
                                                config.path()));
      scan.val_fraction = config.get_double("dataset.val_fraction", 0.0);
      if (!(scan.val_fraction > 0 && scan.val_fraction < 1))
        throw std::invalid_argument(
            fmt::format("config: {}: expected a fraction between 0 and 1", config.describe("dataset.val_fraction")));
      scan.split_seed = static_cast<uint64_t>(config.get_int("dataset.split_seed", 0));
      scan.part = split == Split::kTrain ? FolderPart::kTrain : FolderPart::kValidation;
    }
    return scan_class_folders(root, scan);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{} (from {})", e.what(), config.describe(key)));
  }
}

}  // namespace byteformer
