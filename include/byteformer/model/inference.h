// Running a ByteFormer on byte sequences: batching, padding, top-k, per-input errors.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "byteformer/model/byteformer.h"

namespace byteformer {

/// Pads byte sequences with -1 (CoreNet's padding value) to the longest one: (B, max L) int64;
/// a file's bytes, or bytes after the pipeline (one routine for both).
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

/// The answer for one input.
struct Classification {
  std::string name;          // what the caller called it (a file name, "-", a request id)
  int64_t file_bytes = -1;   // bytes given (-1: not from a file)
  int64_t num_bytes = 0;     // bytes fed to the model after the pipeline
  std::string input;         // provenance: "raw" or the pipeline, e.g. "eval image: resize 256, ..."
  std::vector<float> logits;  // (classes,)
  std::vector<float> probs;   // (classes,) softmax of logits
  std::vector<TopClass> top;  // the most probable classes, most probable first
  std::string error;          // set: not classified, for this reason (names the input)
  bool ok() const { return error.empty(); }
};

/// The k most probable classes of one logits row (softmax), highest first.
std::vector<TopClass> top_k(const torch::Tensor& logits_row, int64_t k, const std::vector<std::string>& labels);

/// Classifies `inputs` in batches of `batch_size`, in eval mode under InferenceMode; one
/// Classification per input, in input order, with its `k` most probable classes. An input with
/// `error` set, or one the model cannot take, gets a Classification with `error` set and the
/// others still run.
std::vector<Classification> classify_inputs(ByteFormer& model, const std::vector<ModelInput>& inputs,
                                            int64_t batch_size, int64_t k, const std::vector<std::string>& labels);

}  // namespace byteformer
