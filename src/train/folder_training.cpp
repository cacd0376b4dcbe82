#include "byteformer/train/folder_training.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "builtin_recipes.h"
#include "byteformer/data/class_folders.h"
#include "byteformer/data/dataset.h"
#include "byteformer/io/suggest.h"

namespace byteformer {

namespace fs = std::filesystem;

namespace {

const char* const kOrigin = "train --data";

std::string absolute_path(const fs::path& p) { return fs::weakly_canonical(fs::absolute(p)).string(); }

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

int64_t largest_power_of_two_at_most(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

Config load_recipe(const std::string& recipe) {
  std::string name = recipe;
  std::replace(name.begin(), name.end(), '-', '_');
  const auto& builtin = builtin_recipe_texts();
  if (const auto it = builtin.find(name); it != builtin.end()) return Config::load_string(it->second, "recipe " + recipe);
  std::error_code ec;
  if (fs::is_regular_file(recipe, ec)) return Config::load_file(recipe);
  const std::vector<std::string> names = builtin_recipe_names();
  const std::string near = closest_spelling(recipe, names);
  throw std::invalid_argument(fmt::format("recipe '{}': not a built-in recipe ({}) nor a YAML file{}", recipe,
                                          fmt::join(names, ", "), near.empty() ? "" : "; did you mean '" + near + "'?"));
}

void set(Config& c, const std::string& key, const YAML::Node& value) { c.set(key, value, kOrigin); }

// "40 not an image the decoders read (e.g. DIR/svg/a.svg); 2 hidden file (e.g. ...)"
std::string skip_summary(const std::vector<SkippedFile>& skipped) {
  std::map<std::string, std::pair<int64_t, std::string>> by_reason;
  for (const auto& s : skipped) {
    auto& [n, example] = by_reason[s.reason];
    if (n++ == 0) example = s.path;
  }
  std::vector<std::string> parts;
  for (const auto& [reason, entry] : by_reason)
    parts.push_back(fmt::format("{} {} (e.g. {})", entry.first, reason, entry.second));
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

std::vector<std::string> builtin_recipe_names() {
  std::vector<std::string> names;
  for (const auto& [name, text] : builtin_recipe_texts()) {
    std::string spelled = name;
    std::replace(spelled.begin(), spelled.end(), '_', '-');
    names.push_back(spelled);
  }
  // image first: the default.
  std::stable_partition(names.begin(), names.end(), [](const std::string& n) { return n == "image"; });
  return names;
}

FolderLayout detect_folder_layout(const std::string& dir) {
  if (!is_dir(dir)) throw std::runtime_error(fmt::format("data folder {}: not a directory", dir));
  const fs::path root(dir);
  FolderLayout layout;
  if (is_dir(root / "train")) {
    layout.train = absolute_path(root / "train");
    if (is_dir(root / "val")) layout.val = absolute_path(root / "val");
    else if (is_dir(root / "validation")) layout.val = absolute_path(root / "validation");
    if (is_dir(root / "test")) layout.test = absolute_path(root / "test");
  } else {
    for (const char* split : {"val", "validation", "test"})
      if (is_dir(root / split))
        throw std::runtime_error(fmt::format("data folder {}: has a {}/ folder but no train/ folder: expected "
                                             "{}/<class>/<file>, or train/<class>/<file> with val/ and test/ beside it",
                                             dir, split, dir));
    layout.train = absolute_path(root);
  }
  return layout;
}

FolderScale FolderScale::for_size(int64_t n_train, int64_t recipe_batch, int64_t recipe_epochs, int64_t recipe_warmup,
                                  std::optional<int64_t> epochs) {
  FolderScale s;
  const int64_t n = std::max<int64_t>(n_train, 1);
  s.batch_size = std::clamp<int64_t>(largest_power_of_two_at_most(std::max<int64_t>(n / 8, 1)), std::min<int64_t>(8, recipe_batch),
                                     std::max<int64_t>(recipe_batch, 1));
  const int64_t steps_per_epoch = (n + s.batch_size - 1) / s.batch_size;
  s.epochs = std::clamp<int64_t>((kTargetSteps + steps_per_epoch - 1) / steps_per_epoch, std::min<int64_t>(10, recipe_epochs),
                                 std::max<int64_t>(recipe_epochs, 1));
  if (epochs) s.epochs = *epochs;
  s.steps = steps_per_epoch * s.epochs;
  s.warmup_iterations = std::min<int64_t>(recipe_warmup, s.steps / 10);
  s.val_fraction = std::clamp(500.0 / static_cast<double>(n), 0.05, 0.2);
  return s;
}

FolderConfig folder_training_config(const FolderTraining& request) {
  FolderConfig made;
  Config& c = made.config;
  c = load_recipe(request.recipe);
  made.layout = detect_folder_layout(request.data_dir);
  const FolderLayout& layout = made.layout;

  FolderScan scan;
  scan.modality = config_modality(c);
  const DatasetIndex all = scan_class_folders(layout.train, scan);
  const auto n_files = static_cast<int64_t>(all.size());
  const auto n_classes = static_cast<int64_t>(all.classes.size());
  if (n_classes < 2)
    throw std::runtime_error(fmt::format("data folder {}: one class folder ({}); a classifier needs two or more",
                                         layout.train, all.classes.front()));
  made.notes.push_back(fmt::format("data: {} classes ({}), {} {}files in {}", n_classes, fmt::join(all.classes, ", "),
                                   n_files, scan.modality == Modality::kBytes ? "" : to_string(scan.modality) + " ",
                                   layout.train));
  if (!all.skipped.empty())
    made.notes.push_back(fmt::format("data: skipped {} file(s) that are not {} samples: {}", all.skipped.size(),
                                     to_string(scan.modality), skip_summary(all.skipped)));

  const int64_t recipe_batch = c.get_int("dataset.train_batch_size0", 64);
  const int64_t recipe_epochs = c.get_int("scheduler.max_epochs", 60);
  const int64_t recipe_warmup = c.get_int("scheduler.warmup_iterations", 0);
  double val_fraction = 0;
  int64_t n_train = n_files;
  if (layout.val.empty()) {
    val_fraction = FolderScale::for_size(n_files, recipe_batch, recipe_epochs, recipe_warmup).val_fraction;
    n_train = n_files - static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(n_files)));
  }
  const FolderScale scale = FolderScale::for_size(n_train, recipe_batch, recipe_epochs, recipe_warmup, request.epochs);

  set(c, "dataset.name", YAML::Node("folder"));  // class folders, whatever the recipe read before
  set(c, "dataset.root_train", YAML::Node(layout.train));
  if (layout.val.empty()) {
    set(c, "dataset.root_val", YAML::Node(YAML::NodeType::Null));
    set(c, "dataset.val_fraction", YAML::Node(val_fraction));
    if (!c.is_set("dataset.split_seed")) set(c, "dataset.split_seed", YAML::Node(0));
    made.notes.push_back(fmt::format("data: no val/ folder: {:.0f}% of each class held out for validation (seed {})",
                                     100.0 * val_fraction, c.get_int("dataset.split_seed", 0)));
  } else {
    set(c, "dataset.root_val", YAML::Node(layout.val));
    set(c, "dataset.val_fraction", YAML::Node(YAML::NodeType::Null));
  }
  set(c, "dataset.root_test", layout.test.empty() ? YAML::Node(YAML::NodeType::Null) : YAML::Node(layout.test));
  set(c, "model.classification.n_classes", YAML::Node(n_classes));
  set(c, "dataset.train_batch_size0", YAML::Node(scale.batch_size));
  set(c, "scheduler.max_epochs", YAML::Node(scale.epochs));
  set(c, "scheduler.warmup_iterations", YAML::Node(scale.warmup_iterations));
  made.notes.push_back(fmt::format("schedule: batch {}, {} epochs, {} steps, warmup {} steps (scaled to {} training files{})",
                                   scale.batch_size, scale.epochs, scale.steps, scale.warmup_iterations, n_train,
                                   request.epochs ? "; epochs as asked" : ""));

  const fs::path data = fs::weakly_canonical(fs::absolute(request.data_dir));
  fs::path run = fs::absolute(request.out.empty() ? fs::path("runs") / data.filename() : fs::path(request.out))
                     .lexically_normal();
  if (run.filename().empty()) run = run.parent_path();  // "runs/mine/"
  set(c, "common.results_loc", YAML::Node(run.parent_path().string()));
  set(c, "common.run_label", YAML::Node(run.filename().string()));
  for (const auto& o : request.overrides) c.apply_override(o);
  return made;
}

}  // namespace byteformer
