// `byteformer train --data DIR`: the config that trains a model on a user's folder, made from
// a recipe (configs/recipes/*.yaml, compiled in, or the user's own YAML) and the folder:
//   - the layout: DIR/train/<class>/ (with DIR/val/ and DIR/test/ when there) or DIR/<class>/;
//     without a val/ folder, a seeded stratified part of the training files is held out;
//   - the classes and n_classes from the class folders, the data roots as absolute paths;
//   - the run folder (`--out`, else runs/<DIR's name>), absolute;
//   - the batch, the epochs and the warmup scaled to the number of training files, so that a
//     folder of a few hundred files learns in a minute or two (FolderScale below).
// User overrides are applied last, so any key can still be set.
//
//   FolderTraining request;
//   request.data_dir = "photos";
//   const FolderConfig made = folder_training_config(request);
//   Trainer trainer(Recipe::from_config(made.config), torch::kCPU);
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "byteformer/io/config.h"

namespace byteformer {

struct FolderTraining {
  std::string data_dir;
  /// A built-in recipe (image, audio, file-types) or the path of a YAML config.
  std::string recipe = "image";
  /// The run folder; "" = runs/<the data folder's name> in the current directory.
  std::string out;
  /// Epochs; nullopt = scaled to the folder.
  std::optional<int64_t> epochs;
  /// key=value, applied after everything else.
  std::vector<std::string> overrides;
};

/// Where the splits of a data folder are.
struct FolderLayout {
  std::string train;  // absolute
  std::string val;    // absolute; "" = held out of train
  std::string test;   // absolute; "" = none
};

/// Throws std::runtime_error naming `dir` when it is not a folder of class folders or of
/// train/ (and val/, test/) folders of class folders.
FolderLayout detect_folder_layout(const std::string& dir);

/// How train --data sizes a run from the number of training files `n`: the batch is the
/// largest power of two at most n / 8, between 8 and the recipe's batch; the epochs give about
/// kTargetSteps optimiser steps, between 10 and the recipe's max_epochs; the warmup is a tenth
/// of all steps, at most the recipe's; the held-out fraction is a fifth of each class, or about
/// 500 files in all for a large folder, at least 5%.
struct FolderScale {
  static constexpr int64_t kTargetSteps = 500;
  int64_t batch_size = 0;
  int64_t epochs = 0;
  int64_t warmup_iterations = 0;
  int64_t steps = 0;  // optimiser steps in all
  double val_fraction = 0.0;

  /// `epochs`, when set, replaces the scaled epochs (the warmup follows them).
  static FolderScale for_size(int64_t n_train, int64_t recipe_batch, int64_t recipe_epochs, int64_t recipe_warmup,
                              std::optional<int64_t> epochs = std::nullopt);
};

struct FolderConfig {
  Config config;
  FolderLayout layout;
  /// What was decided, one line each, for the log ("batch 32 for 270 training files", ...).
  std::vector<std::string> notes;
};

/// Names of the built-in recipes as the CLI spells them: image, audio, file-types.
std::vector<std::string> builtin_recipe_names();

/// Loads the recipe, reads the folder (its classes and training file count, with the recipe's
/// file filter), and returns the config to train. Throws std::invalid_argument for an unknown
/// recipe (naming the closest), std::runtime_error naming the folder or class that is unusable.
FolderConfig folder_training_config(const FolderTraining& request);

}  // namespace byteformer
