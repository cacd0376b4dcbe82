// The page GET / serves: the model's name, what it reads and its classes; drop or pick a file,
// see the top classes as bars and the time taken. Plain HTML and a few lines of script calling
// POST /v1/classify; no framework.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/data/byte_pipeline.h"

namespace byteformer {

/// What the page says of the served model. Every field is HTML-escaped into the page (class
/// names are folder names: a user's data).
struct PageModel {
  std::string title;                 // model_title()
  std::string description;           // model_description()
  std::string pipeline;              // the evaluation pipeline in one line
  std::vector<std::string> classes;  // class names in index order
};

std::string web_page(const PageModel& model);

/// A model's name for people: its run folder's name when the weights are a training run's
/// checkpoint (checkpoint_*.pt, as `byteformer train` and CoreNet name them, in the folder
/// named by common.run_label), else the weights file's name without its extension.
std::string model_title(const std::string& weights_path);

/// One line on what the model is and takes, e.g. "ByteFormer, 10 classes, reads image files
/// (JPEG, PNG, TIFF, BMP, PPM)".
std::string model_description(const BytePipelineOptions& pipeline, int64_t classes);

}  // namespace byteformer
