// Running a ByteFormer on files: batching, padding, top-k.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/model/byteformer.h"

namespace byteformer {

/// Pads byte sequences with -1 to the longest one: (B, max L) int64.
torch::Tensor pad_batch(const std::vector<std::vector<uint8_t>>& samples);

struct TopClass {
  int64_t index = 0;
  std::string label;  // class name, or the index as text when no names are known
  double prob = 0.0;
};

struct Prediction {
  std::string file;
  int64_t num_bytes = 0;
  std::vector<float> logits;
  std::vector<TopClass> top;
};

/// The k most probable classes of one logits row (softmax), highest first.
std::vector<TopClass> top_k(const torch::Tensor& logits_row, int64_t k, const std::vector<std::string>& labels);

/// Reads each file's bytes as they are (no decoding) and classifies them in batches of
/// `batch_size`, in eval mode under InferenceMode. A file the model cannot take (empty, shorter
/// than the kernel, too many tokens) is an error naming the file.
std::vector<Prediction> predict_files(ByteFormer& model, const std::vector<std::string>& files, int64_t batch_size,
                                      int64_t k, const std::vector<std::string>& labels);

/// Reads a whole file; errors name the path.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace byteformer
