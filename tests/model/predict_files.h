// Test helper: each file's bytes as they are (no decoding, as `predict --raw`) through
// classify_inputs; fails the calling test at the first file that cannot be read or classified.
#pragma once
#include <string>
#include <vector>

#include "byteformer/io/file.h"
#include "byteformer/model/inference.h"

namespace byteformer::test {

inline std::vector<Classification> predict_files(ByteFormer& model, const std::vector<std::string>& files,
                                                 int64_t batch_size, int64_t k, const std::vector<std::string>& labels) {
  std::vector<ModelInput> inputs;
  const int64_t limit = std::max<int64_t>(model->options().max_input_bytes(), int64_t{1} << 20);
  for (const auto& f : files) {
    ModelInput in;
    in.name = f;
    const std::vector<uint8_t> bytes = read_file(f, limit);
    in.bytes.assign(bytes.begin(), bytes.end());
    in.file_bytes = static_cast<int64_t>(bytes.size());
    inputs.push_back(std::move(in));
  }
  auto out = classify_inputs(model, inputs, batch_size, k, labels);
  for (const auto& c : out)
    if (!c.ok()) throw std::invalid_argument(c.error);
  return out;
}

}  // namespace byteformer::test
