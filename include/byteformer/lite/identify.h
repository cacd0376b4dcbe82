// identify's front end: what `byteformer identify` and the small `byteformer-identify` share.
// It lists the inputs (files, directories with -r, stdin), answers by rule what needs no model
// (empty, directory, symlink, a few bytes), reads each file's byte window, asks a model for the
// rest in batches, applies the confidence mode and writes `path: label (score%)` or JSON lines.
// The model is behind IdentifyModel: LibTorch's Classifier in the byteformer CLI, the plain C++
// LiteModel in byteformer-identify. No LibTorch here.
//
//   IdentifyOptions options;  options.files = {"/usr/bin/ls"};
//   run_identify(options, [](int64_t inputs) { return std::make_unique<MyModel>(); }, std::cout);
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "byteformer/data/byte_window.h"

namespace byteformer {

/// What a user asks of identify, parsed at the CLI.
struct IdentifyOptions {
  std::string mode = "high-confidence";  // high-confidence | medium-confidence | best-guess (or high, medium, best)
  int64_t top = 3;                       // classes in --json's top
  int64_t batch_size = 64;               // files per forward pass
  double read_timeout_s = 10.0;          // a fifo, pipe or device silent this long is an error
  bool json = false;
  bool recursive = false;
  bool no_dereference = false;
  bool timings = false;  // where the time went, on stderr
  std::vector<std::string> files;  // "-" is stdin
};

/// One class of a model's answer.
struct IdentifyScore {
  std::string label;
  double prob = 0.0;
  int64_t index = -1;
};

/// A model's answer for one input: its top classes, best first, or an error.
struct IdentifyAnswer {
  std::vector<IdentifyScore> top;
  std::string error;
};

/// What identify needs of a file-type model.
class IdentifyModel {
 public:
  virtual ~IdentifyModel() = default;
  /// The bytes the model reads of a file.
  virtual const ByteWindow& window() const = 0;
  /// The high-confidence threshold of a class (its calibrated one, or a default).
  virtual double high_threshold(int64_t class_index) const = 0;
  /// Answers for byte windows (each at least 8 bytes), in order; `top` classes each. `names`
  /// (the inputs' paths, one a window) are for error messages.
  virtual std::vector<IdentifyAnswer> classify(const std::vector<std::vector<uint8_t>>& windows,
                                               const std::vector<std::string>& names, int64_t top) = 0;
  /// Where the weights came from, for --timings.
  virtual std::string source() const = 0;
  /// Compute threads used, for --timings.
  virtual int threads() const { return 1; }
};

/// Opens the model once the inputs are listed (`inputs`: how many, for settings that depend on it).
using OpenIdentifyModel = std::function<std::unique_ptr<IdentifyModel>(int64_t inputs)>;

/// Identifies every input, writing one record a line to `out` in the inputs' order. Throws
/// std::runtime_error when the model cannot be opened, and at the end when some inputs could not
/// be identified (each one's record says why).
void run_identify(const IdentifyOptions& options, const OpenIdentifyModel& open_model, std::ostream& out);

/// The shipped model's file `file_name` (config.yaml, model.bfm): `asked` when given (a folder
/// is looked into), else the installed copy `installed_rel` from the program's own folder, else
/// `source_dir`. Throws std::runtime_error naming the places looked at.
std::string find_file_type_model(const std::string& asked, const std::string& file_name,
                                 const std::string& installed_rel, const std::string& source_dir);

}  // namespace byteformer
