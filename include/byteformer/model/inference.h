// Running a ByteFormer on byte sequences: batching, padding, top-k, per-input errors.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "byteformer/model/byteformer.h"

namespace byteformer {

/// Pads byte sequences with -1 to the longest one: (B, max L) int64.
torch::Tensor pad_batch(const std::vector<std::vector<uint8_t>>& samples);
torch::Tensor pad_batch(const std::vector<std::vector<int64_t>>& samples);

struct TopClass {
  int64_t index = 0;
  std::string label;  // class name, or the index as text when no names are known
  double prob = 0.0;
};

/// One input to classify: the bytes the model sees (values 0..255), or the reason there are none.
struct ModelInput {
  std::string name;            // the file, or "-" for stdin
  std::vector<int64_t> bytes;  // (L,) values 0..255
  int64_t file_bytes = -1;     // the file's own size (-1: not from a file)
  std::string error;           // set: not classified, for this reason (names the file)
};

struct Prediction {
  std::string file;
  int64_t num_bytes = 0;   // bytes fed to the model
  int64_t file_bytes = -1;  // the file's own size
  std::vector<float> logits;
  std::vector<TopClass> top;
  std::string error;  // set: this input was not classified (the reason names the file)
};

/// The k most probable classes of one logits row (softmax), highest first.
std::vector<TopClass> top_k(const torch::Tensor& logits_row, int64_t k, const std::vector<std::string>& labels);

/// Classifies `inputs` in batches of `batch_size`, in eval mode under InferenceMode; one
/// Prediction per input, in input order. An input with `error` set, or one the model cannot
/// take, gets a Prediction with `error` set and the others still run.
std::vector<Prediction> classify_inputs(ByteFormer& model, const std::vector<ModelInput>& inputs, int64_t batch_size,
                                        int64_t k, const std::vector<std::string>& labels);

/// Reads each file's bytes as they are (no decoding: `predict --raw`) and classifies them.
/// Throws at the first file that cannot be read or that the model cannot take, naming it.
std::vector<Prediction> predict_files(ByteFormer& model, const std::vector<std::string>& files, int64_t batch_size,
                                      int64_t k, const std::vector<std::string>& labels);

}  // namespace byteformer
