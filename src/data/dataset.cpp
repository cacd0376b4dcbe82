#include "byteformer/data/dataset.h"

#include <fmt/format.h>

#include <stdexcept>

#include "byteformer/data/image_folder.h"
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

bool is_audio_config(const Config& config) {
  return config.get_string("dataset.name", "") == "speech_commands_v2" ||
         config.get_string("dataset.category", "") == "audio_classification";
}

DatasetIndex load_dataset(const Config& config, Split split, uint64_t seed) {
  std::string key = split == Split::kTrain ? "dataset.root_train" : "dataset.root_val";
  if (split == Split::kTest && config.is_set("dataset.root_test")) key = "dataset.root_test";
  const std::string root = config.get_string(key, "");
  if (root.empty()) throw std::runtime_error(fmt::format("config {}: '{}' is not set", config.path(), key));
  try {
    if (is_audio_config(config)) return load_speech_commands(root, split, seed);
    return scan_image_folder(root);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{} (from {})", e.what(), config.describe(key)));
  }
}

}  // namespace byteformer
