// The model's input as the transforms see it: a file's bytes as int64 values 0..255.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace byteformer {

/// A byte sequence: values 0..255 held as int64 so padding (-1) can be appended later.
using ByteSeq = std::vector<int64_t>;

ByteSeq to_byte_seq(const std::vector<uint8_t>& bytes);
/// int64 tensor [L] -> ByteSeq; throws unless the tensor is 1-D.
ByteSeq to_byte_seq(const torch::Tensor& bytes);
/// ByteSeq -> int64 tensor [L].
torch::Tensor to_tensor(const ByteSeq& bytes);

}  // namespace byteformer
